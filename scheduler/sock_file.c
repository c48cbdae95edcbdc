/*
 * sock_file.c - see sock_file.h.
 */
#include "sock_file.h"

#include <sys/stat.h>

#include "log.h"

int sock_file_record(struct sock_file *s, const char *path)
{
	struct stat st;

	if (lstat(path, &st) < 0)
		return -1;
	s->dev = s->seen_dev = st.st_dev;
	s->ino = s->seen_ino = st.st_ino;
	s->gid = st.st_gid;
	return 0;
}

gid_t sock_file_group(struct sock_file *s, const char *path)
{
	struct stat st;
	int got = lstat(path, &st) == 0;

	if (got && st.st_dev == s->dev && st.st_ino == s->ino) {
		s->seen_dev = s->dev;
		s->seen_ino = s->ino;
		return st.st_gid;
	}
	if (!got) {
		st.st_dev = 0;
		st.st_ino = 0;
	}
	if (st.st_dev != s->seen_dev || st.st_ino != s->seen_ino) {
		s->seen_dev = st.st_dev;
		s->seen_ino = st.st_ino;
		NVS_WARN("event=socket_replaced socket=%s gid_used=%u "
		         "msg=\"the path is no longer the socket we bound; "
		         "its group does not count\"",
		         path, (unsigned)s->gid);
	}
	return s->gid;
}

int sock_file_is_ours(const struct sock_file *s, const char *path)
{
	struct stat st;

	return lstat(path, &st) == 0 && st.st_dev == s->dev &&
	       st.st_ino == s->ino;
}
