/* assert.h for the freestanding wasm32 build: a failed assert traps. */
#ifndef TW_WASM_ASSERT_H
#define TW_WASM_ASSERT_H
#define assert(x) ((x) ? (void)0 : __builtin_trap())
#endif
