CMakeFiles/tw_server_core.dir/server/http.c.o: \
 /work/wt-base/server/http.c /usr/include/stdc-predef.h \
 /work/wt-base/server/http.h \
 /work/main/build/_deps/lws-4.1.6/include/libwebsockets.h \
 /usr/lib/gcc/x86_64-linux-gnu/12/include/stdarg.h /usr/include/string.h \
 /usr/include/x86_64-linux-gnu/bits/libc-header-start.h \
 /usr/include/features.h /usr/include/features-time64.h \
 /usr/include/x86_64-linux-gnu/bits/wordsize.h \
 /usr/include/x86_64-linux-gnu/bits/timesize.h \
 /usr/include/x86_64-linux-gnu/sys/cdefs.h \
 /usr/include/x86_64-linux-gnu/bits/long-double.h \
 /usr/include/x86_64-linux-gnu/gnu/stubs.h \
 /usr/include/x86_64-linux-gnu/gnu/stubs-64.h \
 /usr/lib/gcc/x86_64-linux-gnu/12/include/stddef.h \
 /usr/include/x86_64-linux-gnu/bits/types/locale_t.h \
 /usr/include/x86_64-linux-gnu/bits/types/__locale_t.h \
 /usr/include/strings.h /usr/include/stdlib.h \
 /usr/include/x86_64-linux-gnu/bits/waitflags.h \
 /usr/include/x86_64-linux-gnu/bits/waitstatus.h \
 /usr/include/x86_64-linux-gnu/bits/floatn.h \
 /usr/include/x86_64-linux-gnu/bits/floatn-common.h \
 /usr/include/x86_64-linux-gnu/sys/types.h \
 /usr/include/x86_64-linux-gnu/bits/types.h \
 /usr/include/x86_64-linux-gnu/bits/typesizes.h \
 /usr/include/x86_64-linux-gnu/bits/time64.h \
 /usr/include/x86_64-linux-gnu/bits/types/clock_t.h \
 /usr/include/x86_64-linux-gnu/bits/types/clockid_t.h \
 /usr/include/x86_64-linux-gnu/bits/types/time_t.h \
 /usr/include/x86_64-linux-gnu/bits/types/timer_t.h \
 /usr/include/x86_64-linux-gnu/bits/stdint-intn.h /usr/include/endian.h \
 /usr/include/x86_64-linux-gnu/bits/endian.h \
 /usr/include/x86_64-linux-gnu/bits/endianness.h \
 /usr/include/x86_64-linux-gnu/bits/byteswap.h \
 /usr/include/x86_64-linux-gnu/bits/uintn-identity.h \
 /usr/include/x86_64-linux-gnu/sys/select.h \
 /usr/include/x86_64-linux-gnu/bits/select.h \
 /usr/include/x86_64-linux-gnu/bits/types/sigset_t.h \
 /usr/include/x86_64-linux-gnu/bits/types/__sigset_t.h \
 /usr/include/x86_64-linux-gnu/bits/types/struct_timeval.h \
 /usr/include/x86_64-linux-gnu/bits/types/struct_timespec.h \
 /usr/include/x86_64-linux-gnu/bits/pthreadtypes.h \
 /usr/include/x86_64-linux-gnu/bits/thread-shared-types.h \
 /usr/include/x86_64-linux-gnu/bits/pthreadtypes-arch.h \
 /usr/include/x86_64-linux-gnu/bits/atomic_wide_counter.h \
 /usr/include/x86_64-linux-gnu/bits/struct_mutex.h \
 /usr/include/x86_64-linux-gnu/bits/struct_rwlock.h /usr/include/alloca.h \
 /usr/include/x86_64-linux-gnu/bits/stdlib-bsearch.h \
 /usr/include/x86_64-linux-gnu/bits/stdlib-float.h \
 /work/main/build/_deps/lws-4.1.6/include/lws_config.h \
 /usr/lib/gcc/x86_64-linux-gnu/12/include/stdint.h /usr/include/stdint.h \
 /usr/include/x86_64-linux-gnu/bits/wchar.h \
 /usr/include/x86_64-linux-gnu/bits/stdint-uintn.h /usr/include/unistd.h \
 /usr/include/x86_64-linux-gnu/bits/posix_opt.h \
 /usr/include/x86_64-linux-gnu/bits/environments.h \
 /usr/include/x86_64-linux-gnu/bits/confname.h \
 /usr/include/x86_64-linux-gnu/bits/getopt_posix.h \
 /usr/include/x86_64-linux-gnu/bits/getopt_core.h \
 /usr/include/x86_64-linux-gnu/bits/unistd_ext.h /usr/include/poll.h \
 /usr/include/x86_64-linux-gnu/sys/poll.h \
 /usr/include/x86_64-linux-gnu/bits/poll.h /usr/include/netdb.h \
 /usr/include/netinet/in.h /usr/include/x86_64-linux-gnu/sys/socket.h \
 /usr/include/x86_64-linux-gnu/bits/types/struct_iovec.h \
 /usr/include/x86_64-linux-gnu/bits/socket.h \
 /usr/include/x86_64-linux-gnu/bits/socket_type.h \
 /usr/include/x86_64-linux-gnu/bits/sockaddr.h \
 /usr/include/x86_64-linux-gnu/asm/socket.h \
 /usr/include/asm-generic/socket.h /usr/include/linux/posix_types.h \
 /usr/include/linux/stddef.h \
 /usr/include/x86_64-linux-gnu/asm/posix_types.h \
 /usr/include/x86_64-linux-gnu/asm/posix_types_64.h \
 /usr/include/asm-generic/posix_types.h \
 /usr/include/x86_64-linux-gnu/asm/bitsperlong.h \
 /usr/include/asm-generic/bitsperlong.h \
 /usr/include/x86_64-linux-gnu/asm/sockios.h \
 /usr/include/asm-generic/sockios.h \
 /usr/include/x86_64-linux-gnu/bits/types/struct_osockaddr.h \
 /usr/include/x86_64-linux-gnu/bits/in.h /usr/include/rpc/netdb.h \
 /usr/include/x86_64-linux-gnu/bits/netdb.h \
 /usr/include/x86_64-linux-gnu/sys/time.h /usr/include/mbedtls/ssl.h \
 /usr/include/mbedtls/config.h /usr/include/mbedtls/check_config.h \
 /usr/lib/gcc/x86_64-linux-gnu/12/include/limits.h \
 /usr/lib/gcc/x86_64-linux-gnu/12/include/syslimits.h \
 /usr/include/limits.h /usr/include/x86_64-linux-gnu/bits/posix1_lim.h \
 /usr/include/x86_64-linux-gnu/bits/local_lim.h \
 /usr/include/linux/limits.h \
 /usr/include/x86_64-linux-gnu/bits/pthread_stack_min-dynamic.h \
 /usr/include/x86_64-linux-gnu/bits/pthread_stack_min.h \
 /usr/include/x86_64-linux-gnu/bits/posix2_lim.h \
 /usr/include/mbedtls/bignum.h /usr/include/stdio.h \
 /usr/include/x86_64-linux-gnu/bits/types/__fpos_t.h \
 /usr/include/x86_64-linux-gnu/bits/types/__mbstate_t.h \
 /usr/include/x86_64-linux-gnu/bits/types/__fpos64_t.h \
 /usr/include/x86_64-linux-gnu/bits/types/__FILE.h \
 /usr/include/x86_64-linux-gnu/bits/types/FILE.h \
 /usr/include/x86_64-linux-gnu/bits/types/struct_FILE.h \
 /usr/include/x86_64-linux-gnu/bits/stdio_lim.h \
 /usr/include/x86_64-linux-gnu/bits/stdio.h /usr/include/mbedtls/ecp.h \
 /usr/include/mbedtls/ssl_ciphersuites.h /usr/include/mbedtls/pk.h \
 /usr/include/mbedtls/md.h /usr/include/mbedtls/platform_util.h \
 /usr/include/mbedtls/platform_time.h /usr/include/time.h \
 /usr/include/x86_64-linux-gnu/bits/time.h \
 /usr/include/x86_64-linux-gnu/bits/types/struct_tm.h \
 /usr/include/x86_64-linux-gnu/bits/types/struct_itimerspec.h \
 /usr/include/mbedtls/rsa.h /usr/include/mbedtls/threading.h \
 /usr/include/pthread.h /usr/include/sched.h \
 /usr/include/x86_64-linux-gnu/bits/sched.h \
 /usr/include/x86_64-linux-gnu/bits/types/struct_sched_param.h \
 /usr/include/x86_64-linux-gnu/bits/cpu-set.h \
 /usr/include/x86_64-linux-gnu/bits/setjmp.h \
 /usr/include/x86_64-linux-gnu/bits/types/struct___jmp_buf_tag.h \
 /usr/include/mbedtls/ecdsa.h /usr/include/mbedtls/cipher.h \
 /usr/include/mbedtls/x509_crt.h /usr/include/mbedtls/x509.h \
 /usr/include/mbedtls/asn1.h /usr/include/mbedtls/x509_crl.h \
 /usr/include/mbedtls/dhm.h /usr/include/mbedtls/ecdh.h \
 /usr/include/mbedtls/entropy.h /usr/include/mbedtls/sha512.h \
 /usr/include/mbedtls/havege.h /usr/include/mbedtls/ctr_drbg.h \
 /usr/include/mbedtls/aes.h \
 /work/main/build/_deps/lws-4.1.6/include/libwebsockets/lws-logs.h \
 /work/main/build/_deps/lws-4.1.6/include/libwebsockets/lws-dll2.h \
 /work/main/build/_deps/lws-4.1.6/include/libwebsockets/lws-timeout-timer.h \
 /work/main/build/_deps/lws-4.1.6/include/libwebsockets/lws-smd.h \
 /work/main/build/_deps/lws-4.1.6/include/libwebsockets/lws-state.h \
 /work/main/build/_deps/lws-4.1.6/include/libwebsockets/lws-retry.h \
 /work/main/build/_deps/lws-4.1.6/include/libwebsockets/lws-adopt.h \
 /work/main/build/_deps/lws-4.1.6/include/libwebsockets/lws-network-helper.h \
 /work/main/build/_deps/lws-4.1.6/include/libwebsockets/lws-system.h \
 /work/main/build/_deps/lws-4.1.6/include/libwebsockets/lws-detailed-latency.h \
 /work/main/build/_deps/lws-4.1.6/include/libwebsockets/lws-ws-close.h \
 /work/main/build/_deps/lws-4.1.6/include/libwebsockets/lws-callbacks.h \
 /work/main/build/_deps/lws-4.1.6/include/libwebsockets/lws-ws-state.h \
 /work/main/build/_deps/lws-4.1.6/include/libwebsockets/lws-ws-ext.h \
 /work/main/build/_deps/lws-4.1.6/include/libwebsockets/lws-protocols-plugins.h \
 /work/main/build/_deps/lws-4.1.6/include/libwebsockets/lws-context-vhost.h \
 /work/main/build/_deps/lws-4.1.6/include/libwebsockets/lws-client.h \
 /work/main/build/_deps/lws-4.1.6/include/libwebsockets/lws-http.h \
 /work/main/build/_deps/lws-4.1.6/include/libwebsockets/lws-spa.h \
 /work/main/build/_deps/lws-4.1.6/include/libwebsockets/lws-purify.h \
 /work/main/build/_deps/lws-4.1.6/include/libwebsockets/lws-misc.h \
 /work/main/build/_deps/lws-4.1.6/include/libwebsockets/lws-dsh.h \
 /work/main/build/_deps/lws-4.1.6/include/libwebsockets/lws-service.h \
 /work/main/build/_deps/lws-4.1.6/include/libwebsockets/lws-write.h \
 /work/main/build/_deps/lws-4.1.6/include/libwebsockets/lws-writeable.h \
 /work/main/build/_deps/lws-4.1.6/include/libwebsockets/lws-ring.h \
 /work/main/build/_deps/lws-4.1.6/include/libwebsockets/lws-sha1-base64.h \
 /work/main/build/_deps/lws-4.1.6/include/libwebsockets/lws-x509.h \
 /work/main/build/_deps/lws-4.1.6/include/libwebsockets/lws-cgi.h \
 /work/main/build/_deps/lws-4.1.6/include/libwebsockets/lws-vfs.h \
 /work/main/build/_deps/lws-4.1.6/include/libwebsockets/lws-lejp.h \
 /work/main/build/_deps/lws-4.1.6/include/libwebsockets/lws-stats.h \
 /work/main/build/_deps/lws-4.1.6/include/libwebsockets/lws-struct.h \
 /work/main/build/_deps/lws-4.1.6/include/libwebsockets/lws-threadpool.h \
 /work/main/build/_deps/lws-4.1.6/include/libwebsockets/lws-tokenize.h \
 /work/main/build/_deps/lws-4.1.6/include/libwebsockets/lws-lwsac.h \
 /work/main/build/_deps/lws-4.1.6/include/libwebsockets/lws-fts.h \
 /work/main/build/_deps/lws-4.1.6/include/libwebsockets/lws-diskcache.h \
 /work/main/build/_deps/lws-4.1.6/include/libwebsockets/lws-sequencer.h \
 /work/main/build/_deps/lws-4.1.6/include/libwebsockets/lws-secure-streams.h \
 /work/main/build/_deps/lws-4.1.6/include/libwebsockets/lws-secure-streams-policy.h \
 /work/main/build/_deps/lws-4.1.6/include/libwebsockets/lws-secure-streams-client.h \
 /work/main/build/_deps/lws-4.1.6/include/libwebsockets/abstract/abstract.h \
 /work/main/build/_deps/lws-4.1.6/include/libwebsockets/abstract/protocols.h \
 /work/main/build/_deps/lws-4.1.6/include/libwebsockets/abstract/protocols/smtp.h \
 /work/main/build/_deps/lws-4.1.6/include/libwebsockets/abstract/transports.h \
 /work/main/build/_deps/lws-4.1.6/include/libwebsockets/abstract/transports/raw-skt.h \
 /work/main/build/_deps/lws-4.1.6/include/libwebsockets/abstract/transports/unit-test.h \
 /work/main/build/_deps/lws-4.1.6/include/libwebsockets/lws-test-sequencer.h \
 /work/main/build/_deps/lws-4.1.6/include/libwebsockets/lws-async-dns.h \
 /usr/include/mbedtls/md5.h /usr/include/mbedtls/sha1.h \
 /usr/include/mbedtls/sha256.h \
 /work/main/build/_deps/lws-4.1.6/include/libwebsockets/lws-gencrypto.h \
 /work/main/build/_deps/lws-4.1.6/include/libwebsockets/lws-genhash.h \
 /work/main/build/_deps/lws-4.1.6/include/libwebsockets/lws-genrsa.h \
 /work/main/build/_deps/lws-4.1.6/include/libwebsockets/lws-genaes.h \
 /usr/include/mbedtls/gcm.h \
 /work/main/build/_deps/lws-4.1.6/include/libwebsockets/lws-genec.h \
 /work/main/build/_deps/lws-4.1.6/include/libwebsockets/lws-jwk.h \
 /work/main/build/_deps/lws-4.1.6/include/libwebsockets/lws-jose.h \
 /work/main/build/_deps/lws-4.1.6/include/libwebsockets/lws-jws.h \
 /work/main/build/_deps/lws-4.1.6/include/libwebsockets/lws-jwe.h \
 /work/main/build/_deps/lws-4.1.6/include/libwebsockets/lws-eventlib-exports.h \
 /work/main/build/_deps/lws-4.1.6/include/libwebsockets/lws-i2c.h \
 /work/main/build/_deps/lws-4.1.6/include/libwebsockets/lws-spi.h \
 /work/main/build/_deps/lws-4.1.6/include/libwebsockets/lws-gpio.h \
 /work/main/build/_deps/lws-4.1.6/include/libwebsockets/lws-bb-i2c.h \
 /work/main/build/_deps/lws-4.1.6/include/libwebsockets/lws-bb-spi.h \
 /work/main/build/_deps/lws-4.1.6/include/libwebsockets/lws-button.h \
 /work/main/build/_deps/lws-4.1.6/include/libwebsockets/lws-led.h \
 /work/main/build/_deps/lws-4.1.6/include/libwebsockets/lws-pwm.h \
 /work/main/build/_deps/lws-4.1.6/include/libwebsockets/lws-display.h \
 /work/main/build/_deps/lws-4.1.6/include/libwebsockets/lws-ssd1306-i2c.h \
 /work/main/build/_deps/lws-4.1.6/include/libwebsockets/lws-ili9341-spi.h \
 /work/main/build/_deps/lws-4.1.6/include/libwebsockets/lws-settings.h \
 /work/main/build/_deps/lws-4.1.6/include/libwebsockets/lws-netdev.h \
 /work/wt-base/server/core.h /work/wt-base/server/admission.h \
 /work/wt-base/server/metrics.h /work/wt-base/server/results.h \
 /work/wt-base/server/lobby.h /work/wt-base/server/match.h \
 /work/wt-base/shared/proto.h /work/wt-base/shared/sim.h \
 /work/wt-base/shared/sim.h /work/wt-base/server/replay.h \
 /work/wt-base/shared/token.h /work/wt-base/server/session.h \
 /work/wt-base/server/scrape.h /usr/include/dirent.h \
 /usr/include/x86_64-linux-gnu/bits/dirent.h \
 /usr/include/x86_64-linux-gnu/bits/dirent_ext.h \
 /usr/include/x86_64-linux-gnu/sys/resource.h \
 /usr/include/x86_64-linux-gnu/bits/resource.h \
 /usr/include/x86_64-linux-gnu/bits/types/struct_rusage.h \
 /work/wt-base/server/handshake.h \
 /work/wt-base/build-h/generated/tw_version.h /work/wt-base/server/log.h \
 /work/wt-base/server/parse.h
