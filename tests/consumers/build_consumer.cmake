# Configures and builds one consumer project from scratch, then runs its programs. Run as
#   cmake -DSOURCE_DIR=... -DBINARY_DIR=... -DGENERATOR=... [-DMAKE_PROGRAM=...] [-DCXX_COMPILER=...]
#         [-DOPTIONS=-DA=1|-DB=2] [-DRUN=consumer|curl_consumer] [-DCONFIGURE_ONLY=ON]
#         [-DEXPECT_CONFIGURE_FAILURE=<regex>] -P build_consumer.cmake
# Lists are separated with "|" (a ";" would split the test's command line). EXPECT_CONFIGURE_FAILURE
# inverts the test: configuring must fail, with output matching the regex.
cmake_minimum_required(VERSION 3.25)

foreach(var SOURCE_DIR BINARY_DIR GENERATOR)
  if(NOT DEFINED ${var} OR "${${var}}" STREQUAL "")
    message(FATAL_ERROR "build_consumer.cmake: ${var} is not set")
  endif()
endforeach()
string(REPLACE "|" ";" options "${OPTIONS}")
string(REPLACE "|" ";" programs "${RUN}")
if(MAKE_PROGRAM)
  list(APPEND options "-DCMAKE_MAKE_PROGRAM=${MAKE_PROGRAM}")
endif()
if(CXX_COMPILER)
  list(APPEND options "-DCMAKE_CXX_COMPILER=${CXX_COMPILER}")
endif()
if(NOT JOBS)
  set(JOBS 2)
endif()

# A fresh build directory each time: no cache from an earlier run (an old aihub_DIR, say) can help.
file(REMOVE_RECURSE "${BINARY_DIR}")
message(STATUS "configure: ${SOURCE_DIR} -> ${BINARY_DIR} ${options}")
execute_process(
  COMMAND ${CMAKE_COMMAND} -S ${SOURCE_DIR} -B ${BINARY_DIR} -G ${GENERATOR}
          -DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF ${options}
  RESULT_VARIABLE status OUTPUT_VARIABLE output ERROR_VARIABLE output)
message("${output}")
if(DEFINED EXPECT_CONFIGURE_FAILURE)
  if(status EQUAL 0)
    message(FATAL_ERROR "configuring succeeded, but it was expected to fail")
  endif()
  if(NOT output MATCHES "${EXPECT_CONFIGURE_FAILURE}")
    message(FATAL_ERROR "configuring failed as expected, but without a message matching "
                        "'${EXPECT_CONFIGURE_FAILURE}'")
  endif()
  message(STATUS "configuring failed as expected, with a message matching "
                 "'${EXPECT_CONFIGURE_FAILURE}'")
  return()
endif()
if(NOT status EQUAL 0)
  message(FATAL_ERROR "configuring ${SOURCE_DIR} failed")
endif()
if(CONFIGURE_ONLY)
  return()
endif()

execute_process(COMMAND ${CMAKE_COMMAND} --build ${BINARY_DIR} --parallel ${JOBS}
                RESULT_VARIABLE status)
if(NOT status EQUAL 0)
  message(FATAL_ERROR "building ${SOURCE_DIR} failed")
endif()

foreach(program IN LISTS programs)
  message(STATUS "run: ${program}")
  execute_process(COMMAND ${BINARY_DIR}/${program} RESULT_VARIABLE status)
  if(NOT status EQUAL 0)
    message(FATAL_ERROR "${program} failed (${status})")
  endif()
endforeach()
