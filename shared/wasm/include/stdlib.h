/* stdlib.h for the freestanding wasm32 build: nothing is needed. */
