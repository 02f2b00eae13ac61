/* Multiboot (v1) entry for the QEMU side of the benchmark: QEMU cannot load Swiftlet's 64-bit
   test guest, but its -kernel loader boots a 32-bit multiboot ELF directly. */
    .section .multiboot, "a"
    .balign 4
    .long 0x1BADB002            /* magic */
    .long 0                     /* flags: no requirements, load by ELF program headers */
    .long -(0x1BADB002 + 0)     /* checksum */

    .section .text.entry, "ax"
    .code32
    .globl _start
_start:
    cli
    movl $stack_top, %esp
    pushl %ebx                  /* multiboot information */
    pushl %eax                  /* multiboot magic */
    call benchguest_main
1:  hlt
    jmp 1b

    .section .bss
    .balign 16
    .skip 8192
stack_top:

    .section .note.GNU-stack, "", @progbits
