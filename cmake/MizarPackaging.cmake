# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# Debian packages with CPack (`cpack -G DEB` in a build configured with
# -DCMAKE_INSTALL_PREFIX=/usr -DMIZAR_INSTALL_RPATH=OFF -DMIZAR_MAN_GZIP=ON,
# as tests/install/test_deb.sh does): libmizar0 (the shared library),
# libmizar-dev (headers, BPF SDK headers, static library, pkg-config and
# CMake package) and mizar-tools (mizarctl, the NF tools, man pages,
# completion, the boot unit, docs). Install components: lib, dev, tools.

set(MZR_DEB_REVISION 1)
set(MZR_DEB_VERSION "${PROJECT_VERSION}-${MZR_DEB_REVISION}")
set(CPACK_PACKAGE_NAME mizar)
set(CPACK_PACKAGE_VENDOR "libmizar")
set(CPACK_PACKAGE_CONTACT "libmizar maintainers <maintainers@libmizar.example.org>")
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_GENERATOR DEB)
set(CPACK_DEB_COMPONENT_INSTALL ON)
set(CPACK_COMPONENTS_ALL lib dev tools)
set(CPACK_STRIP_FILES ON)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_RELEASE ${MZR_DEB_REVISION})
set(CPACK_DEBIAN_PACKAGE_HOMEPAGE "https://github.com/CentaurusInfra/mizar")
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
# shlibs (and the ldconfig trigger) for the one package with a library.
set(CPACK_DEBIAN_PACKAGE_GENERATE_SHLIBS ON)
set(CPACK_DEBIAN_PACKAGE_GENERATE_SHLIBS_POLICY ">=")

set(CPACK_DEBIAN_LIB_PACKAGE_NAME libmizar0)
set(CPACK_DEBIAN_LIB_PACKAGE_SECTION libs)
# The shared library's package activates the ldconfig trigger (policy 8.1.1).
set(CPACK_DEBIAN_LIB_PACKAGE_CONTROL_EXTRA
	${PROJECT_SOURCE_DIR}/cmake/deb/triggers)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
set(CPACK_DEBIAN_LIB_PACKAGE_DEPENDS
	"libc6 (>= 2.34), libbpf1 (>= 1:1.0), libxdp1 (>= 1.2), libelf1 (>= 0.142), zlib1g (>= 1:1.1.4)")
set(CPACK_COMPONENT_LIB_DESCRIPTION
	"Mizar overlay back-plane SDK: shared library
libmizar loads a Mizar-style XDP/Geneve overlay back-plane on a host and
manages its VPCs, networks, endpoints and network-function chains. This
package holds the shared library.")

set(CPACK_DEBIAN_DEV_PACKAGE_NAME libmizar-dev)
set(CPACK_DEBIAN_DEV_PACKAGE_SECTION libdevel)
set(CPACK_DEBIAN_DEV_PACKAGE_DEPENDS
	"libmizar0 (= ${MZR_DEB_VERSION}), libbpf-dev, libxdp-dev, libelf-dev, zlib1g-dev")
set(CPACK_COMPONENT_DEV_DESCRIPTION
	"Mizar overlay back-plane SDK: development files
Headers of libmizar, the BPF-side SDK headers for writing network
functions, the static library, the pkg-config file and the CMake
package (find_package(mizar)).")

set(CPACK_DEBIAN_TOOLS_PACKAGE_NAME mizar-tools)
set(CPACK_DEBIAN_TOOLS_PACKAGE_SECTION net)
set(CPACK_DEBIAN_TOOLS_PACKAGE_DEPENDS
	"libmizar0 (= ${MZR_DEB_VERSION}), libc6 (>= 2.34), libbpf1 (>= 1:1.0), libjson-c5 (>= 0.15)")
set(CPACK_COMPONENT_TOOLS_DESCRIPTION
	"Mizar overlay back-plane: command-line tools
mizarctl manages a host's Mizar back-plane (VPCs, networks, endpoints,
network functions, counters, declarative configuration); mizar-lb,
mizar-acl, mizar-nat and mizar-ratelimit are example network functions.
Includes man pages, bash completion and the boot unit.")

# Each package carries its copyright and a Debian changelog (gzip -9n).
configure_file(${PROJECT_SOURCE_DIR}/cmake/deb/changelog.in
	${CMAKE_CURRENT_BINARY_DIR}/deb/changelog.Debian @ONLY)
add_custom_command(OUTPUT ${CMAKE_CURRENT_BINARY_DIR}/deb/changelog.Debian.gz
	COMMAND gzip -9nc ${CMAKE_CURRENT_BINARY_DIR}/deb/changelog.Debian
		> ${CMAKE_CURRENT_BINARY_DIR}/deb/changelog.Debian.gz
	DEPENDS ${CMAKE_CURRENT_BINARY_DIR}/deb/changelog.Debian VERBATIM)
add_custom_target(deb_changelog ALL
	DEPENDS ${CMAKE_CURRENT_BINARY_DIR}/deb/changelog.Debian.gz)
foreach(c lib dev tools)
	string(TOUPPER ${c} C)
	set(pkg ${CPACK_DEBIAN_${C}_PACKAGE_NAME})
	install(FILES ${PROJECT_SOURCE_DIR}/cmake/deb/copyright
		${CMAKE_CURRENT_BINARY_DIR}/deb/changelog.Debian.gz
		DESTINATION ${CMAKE_INSTALL_DATADIR}/doc/${pkg}
		COMPONENT ${c} EXCLUDE_FROM_ALL)
endforeach()

include(CPack)
