/* The workloads selected by test=NAME on the kernel command line. Each ends in reboot(), runs
   forever, or (triple-fault) shuts the CPU down. */
#ifndef TESTGUEST_SCENARIOS_H
#define TESTGUEST_SCENARIOS_H

__attribute__((noreturn)) void scenario_hello(void);
__attribute__((noreturn)) void scenario_echo(void);
__attribute__((noreturn)) void scenario_count(void);
__attribute__((noreturn)) void scenario_idle(void);
__attribute__((noreturn)) void scenario_iostorm(void);
__attribute__((noreturn)) void scenario_blk(const char *cmdline);
__attribute__((noreturn)) void scenario_blk_evil(const char *cmdline);
__attribute__((noreturn)) void scenario_exits(const char *cmdline);
__attribute__((noreturn)) void scenario_triple_fault(void);
__attribute__((noreturn)) void scenario_boot_timer(void);
__attribute__((noreturn)) void scenario_chaos(const char *cmdline);
__attribute__((noreturn)) void scenario_rtc(void);

#endif
