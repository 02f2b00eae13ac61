#define _GNU_SOURCE
#include "cthreadspawner.h"

#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>

// Why this file exists: a thread inherits the seccomp filters of the thread that creates it.
// libdispatch creates its pool threads from whichever thread enqueues work, so a vCPU thread
// under the narrow vCPU filter that hands work to a queue could create a pool thread that
// carries the vCPU filter, and that thread could later run a snapshot (openat: killed).
// This pthread_create, which takes the place of libc's for the whole process, lets a thread
// that has narrowed its filter ask a spawner thread, which carries only the process-wide
// filter, to create the thread instead. Every other thread calls libc's directly.
//
// Its own target, linked only into the executables that narrow threads (swiftlet and
// sandbox-probe): a sanitizer runtime defines pthread_create too (its interceptor), and a
// library target would take its place in every program built with the sanitizers (fuzzing).

typedef int (*pthread_create_function)(pthread_t *, const pthread_attr_t *, void *(*)(void *), void *);

static pthread_create_function libc_pthread_create;

__attribute__((constructor)) static void find_libc_pthread_create(void) {
    libc_pthread_create = (pthread_create_function)dlsym(RTLD_NEXT, "pthread_create");
}

static __thread bool thread_is_narrowed;

void cthreadspawner_mark_thread_narrowed(void) { thread_is_narrowed = true; }

struct spawn_request {
    pthread_t *thread;
    const pthread_attr_t *attributes;
    void *(*start)(void *);
    void *argument;
    // The requester's signal mask: pthread_create gives the new thread its creator's mask.
    sigset_t signal_mask;
    int result;
    bool done;
};

static pthread_mutex_t one_request_at_a_time = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t exchange_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t exchange_changed = PTHREAD_COND_INITIALIZER;
static struct spawn_request *pending_request;
static bool spawner_running;

static void *spawner_main(void *unused) {
    (void)unused;
    sigset_t all;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, NULL);  // never the target of a process-wide signal
    pthread_mutex_lock(&exchange_lock);
    for (;;) {
        while (pending_request == NULL) pthread_cond_wait(&exchange_changed, &exchange_lock);
        struct spawn_request *request = pending_request;
        pending_request = NULL;
        pthread_mutex_unlock(&exchange_lock);

        sigset_t own;
        pthread_sigmask(SIG_SETMASK, &request->signal_mask, &own);
        int result = libc_pthread_create(request->thread, request->attributes, request->start, request->argument);
        pthread_sigmask(SIG_SETMASK, &own, NULL);

        pthread_mutex_lock(&exchange_lock);
        request->result = result;
        request->done = true;
        pthread_cond_broadcast(&exchange_changed);
    }
    return NULL;
}

int cthreadspawner_start(void) {
    if (libc_pthread_create == NULL) return ENOSYS;
    pthread_mutex_lock(&exchange_lock);
    int result = 0;
    if (!spawner_running) {
        pthread_t spawner;
        result = libc_pthread_create(&spawner, NULL, spawner_main, NULL);
        if (result == 0) {
            pthread_detach(spawner);
            spawner_running = true;
        }
    }
    pthread_mutex_unlock(&exchange_lock);
    return result;
}

int pthread_create(pthread_t *thread, const pthread_attr_t *attributes, void *(*start)(void *), void *argument) {
    if (libc_pthread_create == NULL) find_libc_pthread_create();
    if (!thread_is_narrowed || !spawner_running) return libc_pthread_create(thread, attributes, start, argument);

    struct spawn_request request = {.thread = thread, .attributes = attributes, .start = start, .argument = argument};
    pthread_sigmask(SIG_SETMASK, NULL, &request.signal_mask);
    pthread_mutex_lock(&one_request_at_a_time);
    pthread_mutex_lock(&exchange_lock);
    pending_request = &request;
    pthread_cond_broadcast(&exchange_changed);
    while (!request.done) pthread_cond_wait(&exchange_changed, &exchange_lock);
    pthread_mutex_unlock(&exchange_lock);
    pthread_mutex_unlock(&one_request_at_a_time);
    return request.result;
}
