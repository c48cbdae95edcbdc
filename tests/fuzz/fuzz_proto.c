/*
 * fuzz_proto.c - libFuzzer target for the wire decoder (common/proto.c):
 * every byte a peer sends the scheduler, and every byte the scheduler sends
 * nvsharectl and the library, goes through nvs_reader_next() or
 * nvs_msg_recv(). The input is a byte stream as it would come off a socket.
 *
 * Input: byte 0 picks where the stream is cut in two (a frame split across
 * two reads); the rest is the stream. It is decoded three ways:
 *   - the scheduler's incremental reader, in the two parts;
 *   - nvsharectl's blocking nvs_msg_recv(), from a socket holding it;
 *   - nvs_msg_validate() directly on the stream's first header.
 * Checks beyond the sanitizers: a decoded message validates again, the
 * reader never reports more buffered bytes than it was given, and both
 * readers agree on the first message.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "proto.h"

#define FUZZ_MAX_INPUT 65536 /* more than a socket pair buffers unread */

static void fail(const char *what)
{
	fprintf(stderr, "fuzz_proto: %s\n", what);
	abort();
}

/* A decoded message, put back into a frame, must validate. */
static void revalidate(const struct nvs_msg *m)
{
	char err[160];
	uint8_t *payload;
	size_t len = m->hdr.length;

	payload = malloc(len ? len : 1);
	if (!payload)
		return;
	if (m->hdr.type == NVS_MSG_CTL_REPLY) {
		size_t fixed = sizeof(struct nvs_ctl_reply);

		memcpy(payload, &m->u.ctl_reply, fixed);
		memcpy(payload + fixed, m->text, len - fixed);
		if (strlen(m->text) > len - fixed)
			fail("CTL_REPLY text longer than its frame");
	} else {
		if (len > sizeof(m->u))
			fail("fixed payload larger than the message union");
		memcpy(payload, &m->u, len);
	}
	if (nvs_msg_validate(&m->hdr, payload, err, sizeof(err)) != 0)
		fail("a decoded message does not validate");
	if (!nvs_msg_length_ok(m->hdr.type, len))
		fail("a decoded message has a length its type cannot have");
	(void)nvs_msg_type_name(m->hdr.type);
	free(payload);
}

/* The scheduler's way: bytes arrive in parts, messages are taken out. */
static int decode_incremental(const uint8_t *data, size_t size, size_t cut,
                              struct nvs_msg *first)
{
	struct nvs_reader r;
	const size_t parts[2] = {cut, size - cut};
	size_t off = 0;
	int got_first = 0;

	if (nvs_reader_init(&r))
		return 0;
	for (int p = 0; p < 2; p++) {
		size_t left = parts[p];

		while (left) {
			size_t room = r.cap - r.used,
			       n = left < room ? left : room;
			struct nvs_msg m;
			enum nvs_read_status st;
			char err[160];

			memcpy(r.buf + r.used, data + off, n);
			r.used += n;
			off += n;
			left -= n;
			while (
			    (st = nvs_reader_next(&r, &m, err, sizeof(err))) ==
			    NVS_READ_MSG) {
				revalidate(&m);
				if (!got_first) {
					*first = m;
					first->text =
					    m.text ? strdup(m.text) : NULL;
					got_first = 1;
				}
				nvs_msg_release(&m);
			}
			if (r.used > r.cap)
				fail("reader holds more than its capacity");
			if (st == NVS_READ_ERROR) {
				if (!err[0])
					fail("a decode error without a reason");
				goto out;
			}
			/* A full buffer with no frame in it cannot happen:
			 * the header check grows it to the frame's size. */
			if (n == 0 && left)
				fail("reader stalled with a full buffer");
		}
	}
out:
	nvs_reader_free(&r);
	return got_first;
}

/* nvsharectl's way: a blocking read of one message from a socket. Only
 * for a stream that holds its first frame whole (else the read would wait
 * for the rest until its timeout); one socket pair serves every input. */
static void decode_blocking(const uint8_t *data, size_t size,
                            const struct nvs_msg *first, int have_first)
{
	static int sv[2] = {-1, -1};
	struct nvs_msg_header h;
	struct nvs_msg m;
	enum nvs_read_status st;
	char err[160], junk[4096];
	size_t off = 0;

	if (size < sizeof(h))
		return;
	memcpy(&h, data, sizeof(h));
	if (h.length > size - sizeof(h))
		return;
	if (sv[0] < 0 && socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0)
		return;
	while (off < size) {
		ssize_t n = send(sv[1], data + off, size - off, MSG_DONTWAIT);
		if (n <= 0)
			break;
		off += (size_t)n;
	}
	err[0] = '\0';
	st = nvs_msg_recv(sv[0], &m, 1000, err, sizeof(err));
	if (st == NVS_READ_MSG) {
		revalidate(&m);
		if (have_first &&
		    (memcmp(&m.hdr, &first->hdr, sizeof(m.hdr)) != 0 ||
		     (m.text == NULL) != (first->text == NULL) ||
		     (m.text && strcmp(m.text, first->text) != 0)))
			fail("the two readers decode different messages");
		nvs_msg_release(&m);
	} else if (st != NVS_READ_ERROR || !err[0]) {
		fail("nvs_msg_recv did not decode a whole frame");
	}
	/* What it left unread (it reads one frame at most). */
	while (recv(sv[0], junk, sizeof(junk), MSG_DONTWAIT) > 0)
		;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct nvs_msg first;
	size_t cut;
	int have;

	if (size < 1 || size > FUZZ_MAX_INPUT)
		return 0;
	cut = (size_t)data[0] * (size - 1) / 255;
	data++;
	size--;
	memset(&first, 0, sizeof(first));
	have = decode_incremental(data, size, cut, &first);
	decode_blocking(data, size, &first, have);
	if (size >= sizeof(struct nvs_msg_header)) {
		/* The validator on its own, header and whatever follows it (an
		 * aligned copy, as receivers hold payloads). */
		struct nvs_msg_header hdr;
		size_t plen = size - sizeof(hdr);
		uint8_t *payload = malloc(plen + 512);
		char err[160];

		memcpy(&hdr, data, sizeof(hdr));
		if (payload) {
			memset(payload, 0, plen + 512);
			memcpy(payload, data + sizeof(hdr), plen);
			/* validate reads no more than the type's fixed part,
			 * which the zeroed tail provides when the stream is
			 * short. */
			(void)nvs_msg_validate(&hdr, payload, err, sizeof(err));
			free(payload);
		}
	}
	{
		char uuid[NVS_UUID_SIZE];
		size_t n = size < sizeof(uuid) - 1 ? size : sizeof(uuid) - 1;

		memcpy(uuid, data, n);
		uuid[n] = '\0';
		(void)nvs_uuid_valid(uuid);
	}
	free(first.text);
	return 0;
}
