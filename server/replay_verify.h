/* replay_verify: the `tickwire-server replay ...` command (replay_verify.c). */
#ifndef TW_REPLAY_VERIFY_H
#define TW_REPLAY_VERIFY_H

/* argv[1] is "replay". Returns the exit status: 0 the replay matches, 1 it
 * diverges, 2 the file cannot be replayed or the usage is wrong. */
int replay_verify_main(int argc, char **argv);

#endif
