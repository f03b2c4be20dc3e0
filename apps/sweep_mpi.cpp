#include "apps/sweep_mpi.hpp"

#include <chrono>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <thread>

#ifdef SBX_HAVE_MPI
#include <mpi.h>
#endif

namespace sbx::app::mpi {

namespace {
[[maybe_unused]] int env_int(const char* name, int fallback) {
  const char* v = std::getenv(name);
  if (!v || !*v) return fallback;
  char* end = nullptr;
  const long x = std::strtol(v, &end, 10);
  return (end && *end == '\0' && x > 0 && x < 1000000) ? static_cast<int>(x) : fallback;
}
}  // namespace

bool launched_by_mpi() {
  // OpenMPI's mpirun, PMIx launchers (srun --mpi=pmix, prterun), PMI-1/2 launchers (MPICH, srun).
  return std::getenv("OMPI_COMM_WORLD_SIZE") || std::getenv("PMIX_RANK") || std::getenv("PMI_SIZE");
}

bool available() {
#ifdef SBX_HAVE_MPI
  return true;
#else
  return false;
#endif
}

World init([[maybe_unused]] int* argc, [[maybe_unused]] char*** argv) {
  World w;
  if (!launched_by_mpi()) return w;
#ifdef SBX_HAVE_MPI
  int provided = 0;
  MPI_Init_thread(argc, argv, MPI_THREAD_SINGLE, &provided);
  w.active = true;
  MPI_Comm_rank(MPI_COMM_WORLD, &w.rank);
  MPI_Comm_size(MPI_COMM_WORLD, &w.size);
  // Ranks sharing this node, to split its cores between them.
  MPI_Comm node;
  MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, 0, MPI_INFO_NULL, &node);
  MPI_Comm_size(node, &w.local_size);
  MPI_Comm_free(&node);
  return w;
#else
  const int size = env_int("OMPI_COMM_WORLD_SIZE", env_int("PMI_SIZE", 1));
  if (size > 1)
    throw std::runtime_error(
        "started by an MPI launcher with " + std::to_string(size) +
        " ranks, but this spikeblox was built without MPI (install libopenmpi-dev and "
        "reconfigure with -DSBX_MPI=ON); every rank would run the whole sweep");
  return w;
#endif
}

void barrier([[maybe_unused]] const World& w) {
#ifdef SBX_HAVE_MPI
  if (!w.active) return;
  // A rank that finished its share waits here for the others. MPI_Barrier busy-polls, which would
  // take a core from the runs still going on a shared node: poll a non-blocking barrier instead.
  MPI_Request req;
  MPI_Ibarrier(MPI_COMM_WORLD, &req);
  int done = 0;
  while (true) {
    MPI_Test(&req, &done, MPI_STATUS_IGNORE);
    if (done) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
#endif
}

long long sum_all([[maybe_unused]] const World& w, long long x) {
#ifdef SBX_HAVE_MPI
  if (w.active) {
    long long s = 0;
    MPI_Allreduce(&x, &s, 1, MPI_LONG_LONG, MPI_SUM, MPI_COMM_WORLD);
    return s;
  }
#endif
  return x;
}

int max_all([[maybe_unused]] const World& w, int x) {
#ifdef SBX_HAVE_MPI
  if (w.active) {
    int m = 0;
    MPI_Allreduce(&x, &m, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
    return m;
  }
#endif
  return x;
}

void finalize([[maybe_unused]] World& w) {
#ifdef SBX_HAVE_MPI
  if (w.active) {
    MPI_Finalize();
    w.active = false;
  }
#endif
}

void abort([[maybe_unused]] const World& w, [[maybe_unused]] int status) {
#ifdef SBX_HAVE_MPI
  if (w.active) MPI_Abort(MPI_COMM_WORLD, status);
#endif
}

}  // namespace sbx::app::mpi
