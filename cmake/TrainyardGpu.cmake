# The torch-free GPU layer (gpu/): the CUDA runtime (device listing, memory, synchronization) and
# NCCL (communicators of data-parallel ranks on GPUs). Included by the top CMakeLists.txt after
# find_package(Torch).
#
# Defines, always:
#   trainyard_gpu         STATIC library from gpu/*.cpp. With the CUDA runtime and NCCL found it
#                         links CUDA::cudart and libnccl and compiles with the PRIVATE definitions
#                         TRAINYARD_WITH_CUDA_RUNTIME=1 and TRAINYARD_WITH_NCCL=1; without them its
#                         functions answer errors that say why. Its headers include no CUDA header.
#   TRAINYARD_TORCH_CUDA  ON when the LibTorch found has CUDA, OFF when it is CPU-only (a plain
#                         variable, not cached: it follows whichever LibTorch was found).
# Prints one STATUS line saying whether the GPU parts are on and why not.
#
# Where to look: CUDAToolkit_ROOT (default /usr/local/cuda when it exists); NCCL under the toolkit
# or under NCCL_ROOT. -DCMAKE_DISABLE_FIND_PACKAGE_CUDAToolkit=ON builds without GPU parts.

if(NOT DEFINED CUDAToolkit_ROOT AND NOT DEFINED ENV{CUDAToolkit_ROOT} AND EXISTS /usr/local/cuda)
  set(CUDAToolkit_ROOT /usr/local/cuda)
endif()
find_package(CUDAToolkit QUIET)

set(trainyard_gpu_cuda OFF)
set(trainyard_gpu_nccl OFF)
if(CMAKE_DISABLE_FIND_PACKAGE_CUDAToolkit)
  set(trainyard_gpu_state "off (the CUDA toolkit is disabled: CMAKE_DISABLE_FIND_PACKAGE_CUDAToolkit)")
elseif(NOT CUDAToolkit_FOUND OR NOT TARGET CUDA::cudart)
  set(trainyard_gpu_state "off (no CUDA toolkit found; install one and set CUDAToolkit_ROOT)")
else()
  set(trainyard_gpu_cuda ON)
  # The toolkit's root: nvcc's parent folder, or the library folder's where nvcc is missing.
  if(CUDAToolkit_BIN_DIR)
    get_filename_component(trainyard_gpu_root "${CUDAToolkit_BIN_DIR}" DIRECTORY)
  else()
    get_filename_component(trainyard_gpu_root "${CUDAToolkit_LIBRARY_DIR}" DIRECTORY)
  endif()
  # NCCL ships beside the toolkit (lib64/, targets/<arch>/lib/) or on its own (NCCL_ROOT).
  find_path(TRAINYARD_NCCL_INCLUDE_DIR nccl.h
            HINTS ${NCCL_ROOT} ENV NCCL_ROOT ${CUDAToolkit_INCLUDE_DIRS} "${trainyard_gpu_root}"
            PATH_SUFFIXES include)
  find_library(TRAINYARD_NCCL_LIBRARY nccl
               HINTS ${NCCL_ROOT} ENV NCCL_ROOT "${CUDAToolkit_LIBRARY_DIR}" "${trainyard_gpu_root}"
               PATH_SUFFIXES lib64 lib "targets/${CMAKE_SYSTEM_PROCESSOR}-linux/lib")
  set(trainyard_gpu_cuda_text
      "CUDA ${CUDAToolkit_VERSION_MAJOR}.${CUDAToolkit_VERSION_MINOR} runtime")
  if(TRAINYARD_NCCL_INCLUDE_DIR AND TRAINYARD_NCCL_LIBRARY)
    set(trainyard_gpu_nccl ON)
    file(STRINGS "${TRAINYARD_NCCL_INCLUDE_DIR}/nccl.h" trainyard_gpu_nccl_version
         REGEX "^#define NCCL_(MAJOR|MINOR) ")
    string(REGEX REPLACE ".*NCCL_MAJOR ([0-9]+).*NCCL_MINOR ([0-9]+).*" "\\1.\\2"
           trainyard_gpu_nccl_version "${trainyard_gpu_nccl_version}")
    set(trainyard_gpu_state
        "on (${trainyard_gpu_cuda_text}, NCCL ${trainyard_gpu_nccl_version} at ${trainyard_gpu_root})")
  else()
    set(trainyard_gpu_state
        "CUDA only (${trainyard_gpu_cuda_text} at ${trainyard_gpu_root}; no NCCL found under it, so multi-GPU groups are off; set NCCL_ROOT)")
  endif()
endif()

file(GLOB trainyard_gpu_sources CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/gpu/*.cpp)
add_library(trainyard_gpu STATIC ${trainyard_gpu_sources})
target_link_libraries(trainyard_gpu PUBLIC trainyard_core)
if(trainyard_gpu_cuda)
  # Imported targets and libraries with full paths: CMake writes their folders into the build
  # tree's RPATH, so the executables find libcudart and libnccl without LD_LIBRARY_PATH.
  target_link_libraries(trainyard_gpu PRIVATE CUDA::cudart)
  target_compile_definitions(trainyard_gpu PRIVATE TRAINYARD_WITH_CUDA_RUNTIME=1)
endif()
if(trainyard_gpu_nccl)
  target_include_directories(trainyard_gpu PRIVATE "${TRAINYARD_NCCL_INCLUDE_DIR}")
  target_link_libraries(trainyard_gpu PRIVATE "${TRAINYARD_NCCL_LIBRARY}")
  target_compile_definitions(trainyard_gpu PRIVATE TRAINYARD_WITH_NCCL=1)
endif()

# The GPU tests (tests/gpu) fill device buffers with cudaMalloc/cudaMemcpy of their own, so they
# need cudart and the same definitions. The top CMakeLists.txt creates gpu_tests after this file
# runs; the call is deferred to the end of that folder's processing.
function(trainyard_gpu_tests_use_cuda)
  if(NOT TARGET gpu_tests)
    return()
  endif()
  if(trainyard_gpu_cuda)
    target_link_libraries(gpu_tests PRIVATE CUDA::cudart)
    target_compile_definitions(gpu_tests PRIVATE TRAINYARD_WITH_CUDA_RUNTIME=1)
  endif()
  if(trainyard_gpu_nccl)
    target_compile_definitions(gpu_tests PRIVATE TRAINYARD_WITH_NCCL=1)
  endif()
endfunction()
if(CMAKE_VERSION VERSION_GREATER_EQUAL 3.19)
  cmake_language(DEFER CALL trainyard_gpu_tests_use_cuda)
endif()

# LibTorch's CUDA: its config fills TORCH_CUDA_LIBRARIES, or (newer ones) defines the targets.
if(TORCH_CUDA_LIBRARIES OR TARGET torch_cuda OR TARGET c10_cuda)
  set(TRAINYARD_TORCH_CUDA ON)
  set(trainyard_gpu_torch_text "LibTorch with CUDA")
else()
  set(TRAINYARD_TORCH_CUDA OFF)
  set(trainyard_gpu_torch_text "LibTorch: CPU-only, so GPU training is off")
endif()

message(STATUS "trainyard GPU parts: ${trainyard_gpu_state}; ${trainyard_gpu_torch_text}")
