# Consumer of an installed aihub through pkg-config, the way a Makefile would do it:
#   c++ -std=c++20 $(pkg-config --cflags aihub) main.cpp
#   c++ -std=c++20 $(pkg-config --cflags aihub-curl) curl_main.cpp $(pkg-config --libs aihub-curl)
# Run as
#   cmake -DPKG_CONFIG=... -DPC_DIR=<prefix>/share/pkgconfig -DPREFIX=<prefix> -DCXX_COMPILER=...
#         -DSOURCE_DIR=tests/consumers -DBINARY_DIR=... -DEXPECTED_VERSION=... [-DWITH_CURL=ON]
#         -P pkg_config.cmake
cmake_minimum_required(VERSION 3.25)

set(ENV{PKG_CONFIG_PATH} "${PC_DIR}")
file(REMOVE_RECURSE "${BINARY_DIR}")
file(MAKE_DIRECTORY "${BINARY_DIR}")

function(pkg_config out)
  execute_process(COMMAND ${PKG_CONFIG} ${ARGN} RESULT_VARIABLE status OUTPUT_VARIABLE output
                  ERROR_VARIABLE error OUTPUT_STRIP_TRAILING_WHITESPACE)
  if(NOT status EQUAL 0)
    message(FATAL_ERROR "pkg-config ${ARGN} failed: ${error}")
  endif()
  string(JOIN " " arguments ${ARGN})
  message(STATUS "pkg-config ${arguments}: ${output}")
  set(${out} "${output}" PARENT_SCOPE)
endfunction()

function(compile_and_run source program)
  execute_process(COMMAND ${CXX_COMPILER} -std=c++20 ${ARGN} -o ${BINARY_DIR}/${program}
                  RESULT_VARIABLE status)
  if(NOT status EQUAL 0)
    message(FATAL_ERROR "compiling ${source} with the flags from pkg-config failed")
  endif()
  execute_process(COMMAND ${BINARY_DIR}/${program} RESULT_VARIABLE status)
  if(NOT status EQUAL 0)
    message(FATAL_ERROR "${program} failed (${status})")
  endif()
endfunction()

pkg_config(version --modversion aihub)
if(NOT version STREQUAL EXPECTED_VERSION)
  message(FATAL_ERROR "pkg-config says aihub ${version}, the build is ${EXPECTED_VERSION}")
endif()

# The include directory must be the installed one (the .pc file is relative to where it lies).
pkg_config(cflags --cflags aihub)
separate_arguments(cflags UNIX_COMMAND "${cflags}")
file(REAL_PATH "${PREFIX}/include" expected_include)
set(found FALSE)
foreach(flag IN LISTS cflags)
  if(flag MATCHES "^-I(.+)$")
    file(REAL_PATH "${CMAKE_MATCH_1}" include)
    if(include STREQUAL expected_include)
      set(found TRUE)
    endif()
  endif()
endforeach()
if(NOT found)
  message(FATAL_ERROR "pkg-config --cflags aihub does not name ${expected_include}: ${cflags}")
endif()
compile_and_run(main.cpp consumer ${cflags} "-DAIHUB_EXPECTED_VERSION=\"${version}\""
                ${SOURCE_DIR}/main.cpp)

if(WITH_CURL)
  pkg_config(curl_cflags --cflags aihub-curl)
  pkg_config(curl_libs --libs aihub-curl)
  separate_arguments(curl_cflags UNIX_COMMAND "${curl_cflags}")
  separate_arguments(curl_libs UNIX_COMMAND "${curl_libs}")
  compile_and_run(curl_main.cpp curl_consumer ${curl_cflags} ${SOURCE_DIR}/curl_main.cpp ${curl_libs})
endif()
