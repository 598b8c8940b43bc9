# SPDX-License-Identifier: MIT
# pollen_bpf_object(): compile an eBPF C source into a BPF ELF object at build time with clang
# (-target bpf -O2 -g by default), for tests and examples. Whether clang can target BPF is checked
# once per build tree; without it the function sets the output variable to "" and says so with
# message(STATUS), and callers skip what needs the object.
#
#   pollen_bpf_object(<target> <source> <out_var> [NO_DEBUG] [CFLAGS <flag>...])
#
# builds ${CMAKE_CURRENT_BINARY_DIR}/<target>.o through a custom target named <target> and sets
# <out_var> in the caller's scope to the object's path. NO_DEBUG drops -g (no .BTF, no .BTF.ext).
include_guard(GLOBAL)

find_program(POLLEN_BPF_CLANG NAMES clang clang-18 clang-17 clang-16 clang-15 clang-14
             DOC "clang used to compile eBPF C sources")

if(NOT DEFINED CACHE{POLLEN_BPF_CLANG_WORKS})
  set(_pollen_bpf_works OFF)
  if(POLLEN_BPF_CLANG)
    execute_process(COMMAND ${POLLEN_BPF_CLANG} -target bpf -print-supported-cpus
                    RESULT_VARIABLE _pollen_bpf_rc OUTPUT_QUIET ERROR_QUIET)
    if(_pollen_bpf_rc EQUAL 0)
      set(_pollen_bpf_works ON)
    endif()
  endif()
  set(POLLEN_BPF_CLANG_WORKS ${_pollen_bpf_works} CACHE BOOL "clang can compile for -target bpf")
  if(NOT POLLEN_BPF_CLANG_WORKS)
    message(STATUS "pollen: no clang with the BPF target; eBPF C objects will not be built")
  endif()
endif()

# Where <asm/types.h> lives on multiarch systems (Debian: /usr/include/x86_64-linux-gnu).
set(POLLEN_BPF_SYSTEM_INCLUDES "")
if(CMAKE_LIBRARY_ARCHITECTURE AND EXISTS "/usr/include/${CMAKE_LIBRARY_ARCHITECTURE}/asm")
  list(APPEND POLLEN_BPF_SYSTEM_INCLUDES "-idirafter" "/usr/include/${CMAKE_LIBRARY_ARCHITECTURE}")
endif()

function(pollen_bpf_object target source out_var)
  cmake_parse_arguments(PARSE_ARGV 3 ARG "NO_DEBUG" "" "CFLAGS")
  if(NOT POLLEN_BPF_CLANG_WORKS)
    message(STATUS "pollen: skipping eBPF object ${target} (no clang with the BPF target)")
    set(${out_var} "" PARENT_SCOPE)
    return()
  endif()
  get_filename_component(src "${source}" ABSOLUTE)
  set(obj "${CMAKE_CURRENT_BINARY_DIR}/${target}.o")
  set(debug -g)
  if(ARG_NO_DEBUG)
    set(debug "")
  endif()
  add_custom_command(
    OUTPUT "${obj}"
    COMMAND ${POLLEN_BPF_CLANG} -target bpf -O2 ${debug} ${POLLEN_BPF_SYSTEM_INCLUDES}
            ${ARG_CFLAGS} -MD -MF "${obj}.d" -c "${src}" -o "${obj}"
    DEPENDS "${src}"
    DEPFILE "${obj}.d"
    COMMENT "Compiling eBPF object ${target}.o"
    VERBATIM)
  add_custom_target(${target} DEPENDS "${obj}")
  set(${out_var} "${obj}" PARENT_SCOPE)
endfunction()
