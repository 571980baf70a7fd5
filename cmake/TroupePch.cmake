# Which sources use a precompiled header.
#
# Loading the precompiled <torch/torch.h> (675 MB) costs a translation
# unit about 10 s of its own. That pays only where the unit parses
# <torch/torch.h> anyway; a source that includes narrower LibTorch or CAF
# headers compiles two to ten times faster without it (measured per file:
# docs/BENCHMARKS.md, "Build time").
#
# troupe_pch_only_where_torch(target) keeps the target's precompiled header
# for its sources that include <torch/torch.h>, or one of the test and
# benchmark headers that do, and turns it off for the others. The choice is
# made when CMake configures, in the directory that defines the target
# (where it must be called): a stale one costs time, never correctness (the
# skipped sources include what they use).
function(troupe_pch_only_where_torch target)
  get_target_property(_sources ${target} SOURCES)
  get_target_property(_dir ${target} SOURCE_DIR)
  foreach(_src ${_sources})
    if(_src MATCHES "^\\$<")
      continue() # a generator expression (another target's objects)
    endif()
    if(NOT IS_ABSOLUTE "${_src}")
      set(_src "${_dir}/${_src}")
    endif()
    file(STRINGS "${_src}" _torch REGEX
         "^#include [<\"](torch/torch\\.h|boring_model\\.hpp|bench_util\\.hpp)[>\"]")
    if(NOT _torch)
      set_source_files_properties("${_src}" PROPERTIES
                                  SKIP_PRECOMPILE_HEADERS ON)
    endif()
  endforeach()
endfunction()
