#ifndef CTHREADSPAWNER_H
#define CTHREADSPAWNER_H

// Thread creation for threads under a narrowed (per-kind) seccomp filter; see thread_spawner.c.
// Linking this target replaces pthread_create for the whole program.

// Starts the spawner thread (once; call it from a thread under the process-wide filter only).
// Returns 0 or an errno value.
int cthreadspawner_start(void);
// From now on, threads the calling thread creates are created by the spawner instead, so they
// do not inherit the calling thread's narrower filter.
void cthreadspawner_mark_thread_narrowed(void);

#endif
