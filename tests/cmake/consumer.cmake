# Builds and runs a consumer project: configure, build the `consumer` target
# (and only what it links) with JOBS parallel jobs, run it.
#   cmake -DSOURCE=... -DBINARY=... -DGENERATOR=... -DJOBS=N -DCOMPILER=...
#         [-DBUILD_TYPE=Release] [-DOPTIONS=-DX=Y;...] [-DSANITIZED=ON]
#         -P consumer.cmake
# SANITIZED: the consumer was configured with TROUPE_SANITIZE; also build and
# run the sink tests and replay the fuzz corpus (CORPUS) under the
# sanitizers.
# BUILD_TYPE defaults to none (no optimization): the check is that the
# project embeds and runs, and unoptimized sources compile faster.
foreach(v SOURCE BINARY GENERATOR JOBS COMPILER)
  if(NOT DEFINED ${v})
    message(FATAL_ERROR "consumer.cmake: -D${v}=... is required")
  endif()
endforeach()

function(step)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "consumer.cmake: '${ARGN}' failed (${rc})")
  endif()
endfunction()

if(NOT DEFINED BUILD_TYPE)
  set(BUILD_TYPE "")
endif()
step(${CMAKE_COMMAND} -S ${SOURCE} -B ${BINARY} -G ${GENERATOR}
     -DCMAKE_BUILD_TYPE=${BUILD_TYPE} -DCMAKE_CXX_COMPILER=${COMPILER} ${OPTIONS})
set(targets consumer)
if(SANITIZED)
  list(APPEND targets sanitized_sinks sanitized_fuzz)
  set(ENV{ASAN_OPTIONS} "detect_leaks=0:abort_on_error=1")
  set(ENV{UBSAN_OPTIONS} "print_stacktrace=1:halt_on_error=1")
endif()
step(${CMAKE_COMMAND} --build ${BINARY} --target ${targets} --parallel ${JOBS})
step(${BINARY}/consumer)
if(SANITIZED)
  step(${BINARY}/sanitized_sinks)
  step(${BINARY}/sanitized_fuzz ${CORPUS})
endif()
