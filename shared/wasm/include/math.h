/* math.h for the freestanding wasm32 build of shared/: only what the
 * simulation uses, each mapped to a builtin that wasm has an exact
 * instruction for (the same IEEE results as SSE on x86-64). */
#ifndef TW_WASM_MATH_H
#define TW_WASM_MATH_H
#define sqrtf(x) __builtin_sqrtf(x)
#define fabsf(x) __builtin_fabsf(x)
#define floorf(x) __builtin_floorf(x)
#define ceilf(x) __builtin_ceilf(x)
#define truncf(x) __builtin_truncf(x)
#define sqrt(x) __builtin_sqrt(x)
#define fabs(x) __builtin_fabs(x)
#define floor(x) __builtin_floor(x)
#endif
