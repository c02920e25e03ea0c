/* zmq_wait.h: what the C test tools (tests/sync/ft_forge.c,
 * tests/media/ft_dforge.c) share: a monotonic clock in ms and waiting for a
 * socket's ZeroMQ handshake through its monitor. Header only (static), so a
 * tool needs no extra CMake wiring. */
#ifndef FT_TESTS_ZMQ_WAIT_H
#define FT_TESTS_ZMQ_WAIT_H

#include <stdint.h>
#include <string.h>
#include <time.h>
#include <zmq.h>

static inline int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Reads mon (a PAIR connected to zmq_socket_monitor's endpoint) until the
 * handshake: 1 succeeded, 0 refused (auth) or deadline (mono_ms) passed. */
static inline int await_handshake(void *mon, int64_t deadline)
{
    while (mono_ms() < deadline) {
        zmq_pollitem_t it = {mon, 0, ZMQ_POLLIN, 0};
        if (zmq_poll(&it, 1, 100) <= 0) {
            continue;
        }
        zmq_msg_t ev, addr;
        zmq_msg_init(&ev);
        zmq_msg_init(&addr);
        zmq_msg_recv(&ev, mon, 0);
        if (zmq_msg_more(&ev)) {
            zmq_msg_recv(&addr, mon, 0);
        }
        uint16_t event = 0;
        if (zmq_msg_size(&ev) >= 2) {
            memcpy(&event, zmq_msg_data(&ev), 2);
        }
        zmq_msg_close(&ev);
        zmq_msg_close(&addr);
        if (event == ZMQ_EVENT_HANDSHAKE_SUCCEEDED) {
            return 1;
        }
        if (event == ZMQ_EVENT_HANDSHAKE_FAILED_AUTH) {
            return 0;
        }
    }
    return 0;
}

#endif
