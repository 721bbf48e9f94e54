# Installs this build of aihub into a fresh prefix, then checks that nothing but aihub's headers,
# package files and license got there (no test, example or simulator program). Run as
#   cmake -DBUILD_DIR=... -DPREFIX=... [-DCONFIG=...] [-DCOMPONENTS=aihub|aihub_curl]
#         -DALLOWED=include/aihub/|share/cmake/aihub/|... [-DREQUIRED=share/cmake/aihub/aihubConfig.cmake|...]
#         -P install.cmake
# Lists are separated with "|". Without COMPONENTS, everything is installed.
cmake_minimum_required(VERSION 3.25)

string(REPLACE "|" ";" components "${COMPONENTS}")
string(REPLACE "|" ";" allowed "${ALLOWED}")
string(REPLACE "|" ";" required "${REQUIRED}")
set(config_args "")
if(CONFIG)
  set(config_args --config ${CONFIG})
endif()

function(install_into_prefix)
  execute_process(COMMAND ${CMAKE_COMMAND} --install ${BUILD_DIR} --prefix ${PREFIX} ${config_args}
                          ${ARGN}
                  RESULT_VARIABLE status)
  if(NOT status EQUAL 0)
    message(FATAL_ERROR "cmake --install ${BUILD_DIR} ${ARGN} failed")
  endif()
endfunction()

file(REMOVE_RECURSE "${PREFIX}")
if(components)
  foreach(component IN LISTS components)
    install_into_prefix(--component ${component})
  endforeach()
else()
  install_into_prefix()
endif()

file(GLOB_RECURSE installed RELATIVE ${PREFIX} ${PREFIX}/*)
list(LENGTH installed count)
foreach(file IN LISTS installed)
  set(ok FALSE)
  foreach(start IN LISTS allowed)
    string(FIND "${file}" "${start}" at)
    if(at EQUAL 0)
      set(ok TRUE)
    endif()
  endforeach()
  if(NOT ok)
    message(FATAL_ERROR "installed ${file}: only aihub's headers, package files and license belong "
                        "in an install (allowed: ${allowed})")
  endif()
endforeach()
foreach(file IN LISTS required)
  if(NOT EXISTS ${PREFIX}/${file})
    message(FATAL_ERROR "${file} was not installed")
  endif()
endforeach()
message(STATUS "installed ${count} files into ${PREFIX}")
