/*
 * Entered like Linux's 64-bit boot protocol: long mode, first 4 GiB identity-mapped,
 * interrupts off, flat CS=0x08/DS=SS=0x10, RSI = boot_params (zero page), RSP = 0x8FF0.
 * Move to our own stack at once (0x8FF0 sits next to the boot page tables), clear .bss,
 * and call C with boot_params as the first argument.
 */
    .section .text.entry, "ax"
    .globl _start
    .code64
_start:
    cli
    cld
    movq $__stack_top, %rsp
    movq %rsi, %rbx

    movq $__bss_start, %rdi
    movq $__bss_end, %rcx
    subq %rdi, %rcx
    shrq $3, %rcx
    xorl %eax, %eax
    rep stosq

    movq %rbx, %rdi
    call testguest_main
1:
    cli
    hlt
    jmp 1b

    .section .note.GNU-stack, "", @progbits
