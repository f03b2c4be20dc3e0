// The MPI layer of `spikeblox sweep`: only rank/size, a barrier and a sum. Built with MPI when
// CMake finds it (option SBX_MPI, compile definition SBX_HAVE_MPI); otherwise single-process stubs.
//
// MPI is initialised only when the process was started by an MPI launcher (mpirun / mpiexec /
// srun set OMPI_COMM_WORLD_SIZE, PMIX_RANK or PMI_SIZE), so a plain `spikeblox sweep` needs no
// mpirun and never starts an MPI runtime.
#pragma once

namespace sbx::app::mpi {

struct World {
  int rank = 0;
  int size = 1;
  int local_size = 1;   // ranks on this node (to share its cores among them)
  bool active = false;  // MPI_Init was called
};

// Whether the environment says an MPI launcher started this process with more than one rank.
bool launched_by_mpi();
// Whether this binary was built with MPI.
bool available();

// Initialises MPI if launched_by_mpi() (throws std::runtime_error when launched by mpirun but
// built without MPI); otherwise returns {0, 1, 1, false}.
World init(int* argc, char*** argv);
void barrier(const World& w);
// Sum of `x` over all ranks (x itself without MPI).
long long sum_all(const World& w, long long x);
// Max of `x` over all ranks.
int max_all(const World& w, int x);
void finalize(World& w);
// Ends every rank (MPI_Abort) after an unexpected error on one of them; returns without MPI.
void abort(const World& w, int status);

}  // namespace sbx::app::mpi
