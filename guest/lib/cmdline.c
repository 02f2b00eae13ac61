#include "cmdline.h"
#include "mem.h"

/* Returns the start of the value if word (length bytes, not NUL-terminated) is "KEY=...". */
static const char *match_key(const char *word, usize length, const char *key) {
    usize i = 0;
    for (; key[i]; i++) {
        if (i >= length || word[i] != key[i]) return NULL;
    }
    if (i >= length || word[i] != '=') return NULL;
    return word + i + 1;
}

int cmdline_value(const char *cmdline, const char *key, char *value, usize max) {
    value[0] = 0;
    if (!cmdline) return 0;
    const char *p = cmdline;
    while (*p) {
        while (*p == ' ' || *p == '\t') p++;
        const char *word = p;
        while (*p && *p != ' ' && *p != '\t') p++;
        const char *start = match_key(word, (usize)(p - word), key);
        if (!start) continue;
        usize length = (usize)(p - start);
        if (length > max) length = 0;
        for (usize i = 0; i < length; i++) value[i] = start[i];
        value[length] = 0;
        return 1;
    }
    return 0;
}

u32 cmdline_u32(const char *cmdline, const char *key, u32 fallback) {
    char text[11]; /* 4294967295 */
    u32 value;
    if (!cmdline_value(cmdline, key, text, sizeof text - 1) || !parse_u32(text, &value)) return fallback;
    return value;
}
