/*
 * pod_table.c - see pod_table.h. A linear table: a node has a hundred or
 * so pods, and it is searched only when a pod changes or a client says
 * HELLO.
 */
#include "pod_table.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void pod_table_free(struct pod_table *t)
{
	free(t->pods);
	memset(t, 0, sizeof(*t));
}

struct pod_entry *pod_table_find(const struct pod_table *t, const char *uid)
{
	if (!uid[0])
		return NULL;
	for (size_t i = 0; i < t->n; i++)
		if (strcmp(t->pods[i].uid, uid) == 0)
			return &t->pods[i];
	return NULL;
}

struct pod_entry *pod_table_get(struct pod_table *t, const char *uid)
{
	struct pod_entry *e = pod_table_find(t, uid);

	if (e)
		return e;
	if (!uid[0] || strlen(uid) >= sizeof(e->uid) || t->n >= POD_TABLE_MAX)
		return NULL;
	if (t->n == t->cap) {
		size_t ncap = t->cap ? t->cap * 2 : 32;
		struct pod_entry *p = realloc(t->pods, ncap * sizeof(*p));
		if (!p)
			return NULL;
		t->pods = p;
		t->cap = ncap;
	}
	e = &t->pods[t->n++];
	memset(e, 0, sizeof(*e));
	snprintf(e->uid, sizeof(e->uid), "%s", uid);
	return e;
}

void pod_table_remove(struct pod_table *t, struct pod_entry *e)
{
	size_t i = (size_t)(e - t->pods);

	if (i < t->n)
		t->pods[i] = t->pods[--t->n];
}
