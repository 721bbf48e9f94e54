# Runs one compile-fail case: the build of TARGET in BUILD_DIR must fail, and its output must match
# EXPECTED (so a failure for an unrelated reason does not count as a pass).
execute_process(COMMAND ${CMAKE_COMMAND} --build ${BUILD_DIR} --target ${TARGET}
                RESULT_VARIABLE status OUTPUT_VARIABLE output ERROR_VARIABLE output)
if(status EQUAL 0)
  message(FATAL_ERROR "${TARGET} compiled, but it must not:\n${output}")
endif()
if(NOT output MATCHES "${EXPECTED}")
  message(FATAL_ERROR "${TARGET} failed to compile, but not with a diagnostic matching '${EXPECTED}':\n${output}")
endif()
message(STATUS "${TARGET} was rejected as expected ('${EXPECTED}')")
