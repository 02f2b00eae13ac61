/* The QEMU counterpart of Swiftlet's test guest scenarios `hello`, `count` and `echo`, with the
   same port I/O pattern (16550 at 0x3F8 polled through LSR, PIT channel 2 polled for delays) and
   the same console lines, so the two VMMs run comparable guests. The mode is "mode=count" or
   "mode=echo" on the multiboot command line; anything else means hello. */
typedef unsigned char u8;
typedef unsigned short u16;
typedef unsigned int u32;

enum {
    MULTIBOOT_MAGIC = 0x2BADB002,
    MULTIBOOT_INFO_CMDLINE = 1u << 2,
    COM1 = 0x3F8,
    LSR_DATA_READY = 0x01,
    LSR_THR_EMPTY = 0x20,
    ECHO_LINE_MAX = 128,
    PIT_CHANNEL2 = 0x42,
    PIT_COMMAND = 0x43,
    PIT_GATE_PORT = 0x61,
    PIT_CH2_MODE0 = 0xB0,
    PIT_READBACK_CH2_STATUS = 0xE8,
    PIT_STATUS_OUT = 0x80,
    CHUNK_TICKS = 1193182 / 100, /* 10 ms */
    FALLBACK_POLLS_PER_CHUNK = 8000,
    DEBUG_EXIT_PORT = 0xF4,
};

static inline void outb(u16 port, u8 value) { __asm__ volatile("outb %0, %1" : : "a"(value), "Nd"(port)); }
static inline u8 inb(u16 port) {
    u8 value;
    __asm__ volatile("inb %1, %0" : "=a"(value) : "Nd"(port));
    return value;
}

static void putc(char c) {
    for (int tries = 0; tries < 100000 && !(inb(COM1 + 5) & LSR_THR_EMPTY); tries++) {
    }
    outb(COM1, (u8)c);
}

static int getc(void) {
    while (!(inb(COM1 + 5) & LSR_DATA_READY)) {
    }
    return inb(COM1);
}

static void print(const char *s) {
    while (*s) putc(*s++);
}

static void print_dec(u32 n) {
    char digits[11];
    int length = 0;
    do {
        digits[length++] = (char)('0' + n % 10);
        n /= 10;
    } while (n);
    while (length) putc(digits[--length]);
}

static void pit_arm_chunk(void) {
    outb(PIT_GATE_PORT, 0x01);
    outb(PIT_COMMAND, PIT_CH2_MODE0);
    outb(PIT_CHANNEL2, CHUNK_TICKS & 0xFF);
    outb(PIT_CHANNEL2, CHUNK_TICKS >> 8);
}

static int pit_out_high(void) {
    outb(PIT_COMMAND, PIT_READBACK_CH2_STATUS);
    return inb(PIT_CHANNEL2) & PIT_STATUS_OUT;
}

static void delay_10ms_chunks(u32 chunks, int pit_present) {
    while (chunks--) {
        pit_arm_chunk();
        if (pit_present) {
            while (!pit_out_high()) {
            }
        } else {
            for (volatile u32 polls = 0; polls < FALLBACK_POLLS_PER_CHUNK; polls++) {
            }
        }
    }
}

/* Echoes each input line as "echo: LINE", like Swiftlet's test guest (CR, LF or CRLF end a line). */
static void echo_lines(void) {
    char line[ECHO_LINE_MAX + 1];
    u32 length = 0;
    int previous_was_cr = 0;
    print("bench-guest: echo ready\n");
    for (;;) {
        int c = getc();
        if (c == '\n' && previous_was_cr) {
            previous_was_cr = 0;
            continue;
        }
        previous_was_cr = c == '\r';
        if (c == '\r' || c == '\n') {
            line[length] = 0;
            print("echo: ");
            print(line);
            putc('\n');
            length = 0;
        } else if (length < ECHO_LINE_MAX) {
            line[length++] = (char)c;
        }
    }
}

static int contains(const char *haystack, const char *needle) {
    for (; *haystack; haystack++) {
        const char *h = haystack, *n = needle;
        while (*n && *h == *n) h++, n++;
        if (!*n) return 1;
    }
    return 0;
}

__attribute__((noreturn)) void benchguest_main(u32 magic, const u32 *info) {
    const char *cmdline = "";
    if (magic == MULTIBOOT_MAGIC && info && (info[0] & MULTIBOOT_INFO_CMDLINE) && info[4])
        cmdline = (const char *)info[4];
    if (contains(cmdline, "mode=echo")) echo_lines();
    if (contains(cmdline, "mode=count")) {
        pit_arm_chunk();
        outb(PIT_COMMAND, PIT_READBACK_CH2_STATUS);
        int pit_present = (inb(PIT_CHANNEL2) & (PIT_STATUS_OUT | 0x3F)) == 0x30;
        for (u32 n = 1;; n++) {
            print("count ");
            print_dec(n);
            putc('\n');
            delay_10ms_chunks(10, pit_present);
        }
    }
    print("bench-guest: hello\n");
    outb(0x64, 0xFE);            /* i8042 reset: QEMU -no-reboot exits (machine pc) */
    outb(DEBUG_EXIT_PORT, 0);    /* isa-debug-exit, if configured: QEMU exits with status 1 */
    for (;;) __asm__ volatile("cli; hlt");
}
