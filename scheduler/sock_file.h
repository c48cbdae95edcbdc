/*
 * sock_file.h - the socket file the scheduler bound, recorded right after
 * bind: its inode identifies it, its group decides who may use control
 * messages (perm.h).
 *
 * Whoever can write the socket's directory can put another file at its
 * path; such a file's group must not count. At each request the path is
 * looked at: while it is still our inode its current group counts (an
 * operator may chgrp it while we run), otherwise the group recorded at
 * bind does, and the substitution is logged once.
 */
#ifndef NVSHARE_SOCK_FILE_H
#define NVSHARE_SOCK_FILE_H

#include <sys/types.h>

struct sock_file {
	dev_t dev; /* the bound file's identity */
	ino_t ino;
	gid_t gid;      /* its group at bind */
	dev_t seen_dev; /* what the path was when last looked at, so that */
	ino_t seen_ino; /* a substitution is logged once, not per request */
};

/* Records path (just bound). 0, or -1 with errno. */
int sock_file_record(struct sock_file *s, const char *path);

/* The group that decides control permission now (see above). */
gid_t sock_file_group(struct sock_file *s, const char *path);

/* 1 if path is still the file we bound (for removal at exit). */
int sock_file_is_ours(const struct sock_file *s, const char *path);

#endif /* NVSHARE_SOCK_FILE_H */
