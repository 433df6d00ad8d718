# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#
# mizar_add_bpf_object(): compile one BPF C source into an ELF object with
# clang -target bpf, the way libmizar builds its own programs. Installed with
# the SDK so that NF authors build their objects exactly like the examples.
#
#   mizar_add_bpf_object(<name> SOURCE <file.bpf.c>
#                        [INCLUDE_DIRS <dir>...] [DEFINES <d>...]
#                        [OUTPUT_DIR <dir>])
#
# Creates the target <name> whose output is <OUTPUT_DIR>/<name>.bpf.o
# (default: the current binary dir) and sets <name>_BPF_OBJECT in the
# caller's scope. Header dependencies are tracked through a depfile, so
# editing any included header rebuilds the object.
#
#   mizar_add_bpf_skeleton(<name> OBJECT_TARGET <bpf-object-target>)
#
# Generates <name>.skel.h (bpftool gen skeleton) in the current binary dir:
# the object embedded as bytes, so binaries need no side files.

include_guard(GLOBAL)

find_program(MIZAR_CLANG NAMES clang clang-16 clang-15 clang-14 REQUIRED)
find_program(MIZAR_BPFTOOL NAMES bpftool
	PATHS /usr/sbin /usr/local/sbin /usr/lib/linux-tools-bpftool)

if(NOT DEFINED MIZAR_BPF_ARCH_INCLUDE)
	execute_process(COMMAND ${CMAKE_C_COMPILER} -print-multiarch
		OUTPUT_VARIABLE _mzr_multiarch OUTPUT_STRIP_TRAILING_WHITESPACE
		ERROR_QUIET)
	if(_mzr_multiarch AND EXISTS "/usr/include/${_mzr_multiarch}")
		set(MIZAR_BPF_ARCH_INCLUDE "/usr/include/${_mzr_multiarch}")
	else()
		set(MIZAR_BPF_ARCH_INCLUDE "")
	endif()
endif()

# Warnings are errors in libmizar's own tree; NF authors building against
# the installed SDK get them as warnings (a newer clang must not break
# their build) unless they set MIZAR_BPF_WERROR ON.
if(NOT DEFINED MIZAR_BPF_WERROR)
	set(MIZAR_BPF_WERROR ON)
endif()
set(MIZAR_BPF_CFLAGS -O2 -g -Wall -Wextra
	-Wno-unused-parameter -Wno-compare-distinct-pointer-types
	CACHE STRING "Flags for clang -target bpf")

function(mizar_add_bpf_object name)
	cmake_parse_arguments(A "" "SOURCE;OUTPUT_DIR" "INCLUDE_DIRS;DEFINES"
		${ARGN})
	if(NOT A_SOURCE)
		message(FATAL_ERROR "mizar_add_bpf_object(${name}): SOURCE missing")
	endif()
	get_filename_component(src "${A_SOURCE}" ABSOLUTE)
	if(NOT A_OUTPUT_DIR)
		set(A_OUTPUT_DIR "${CMAKE_CURRENT_BINARY_DIR}")
	endif()
	set(out "${A_OUTPUT_DIR}/${name}.bpf.o")
	set(incs)
	foreach(d IN LISTS A_INCLUDE_DIRS MIZAR_BPF_INCLUDE_DIRS)
		list(APPEND incs "-I${d}")
	endforeach()
	if(MIZAR_BPF_ARCH_INCLUDE)
		list(APPEND incs "-idirafter${MIZAR_BPF_ARCH_INCLUDE}")
	endif()
	set(defs)
	foreach(d IN LISTS A_DEFINES)
		list(APPEND defs "-D${d}")
	endforeach()
	set(werror)
	if(MIZAR_BPF_WERROR)
		set(werror -Werror)
	endif()
	add_custom_command(OUTPUT "${out}"
		COMMAND ${MIZAR_CLANG} -target bpf ${MIZAR_BPF_CFLAGS} ${werror} ${incs}
			${defs} -MD -MF "${out}.d" -c "${src}" -o "${out}"
		DEPENDS "${src}"
		DEPFILE "${out}.d"
		COMMENT "BPF ${name}.bpf.o"
		VERBATIM)
	add_custom_target(${name} ALL DEPENDS "${out}")
	set_target_properties(${name} PROPERTIES BPF_OBJECT "${out}")
	set(${name}_BPF_OBJECT "${out}" PARENT_SCOPE)
endfunction()

function(mizar_add_bpf_skeleton name)
	cmake_parse_arguments(A "" "OBJECT_TARGET" "" ${ARGN})
	if(NOT MIZAR_BPFTOOL)
		message(FATAL_ERROR "bpftool is needed to generate skeletons")
	endif()
	get_target_property(obj ${A_OBJECT_TARGET} BPF_OBJECT)
	set(out "${CMAKE_CURRENT_BINARY_DIR}/${name}.skel.h")
	add_custom_command(OUTPUT "${out}"
		COMMAND ${MIZAR_BPFTOOL} gen skeleton "${obj}" name ${name}
			> "${out}.tmp"
		COMMAND ${CMAKE_COMMAND} -E rename "${out}.tmp" "${out}"
		DEPENDS "${obj}" ${A_OBJECT_TARGET}
		COMMENT "Skeleton ${name}.skel.h"
		VERBATIM)
	add_custom_target(${name}_skel DEPENDS "${out}")
endfunction()
