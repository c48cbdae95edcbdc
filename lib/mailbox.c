/*
 * mailbox.c - see mailbox.h.
 */
#include "mailbox.h"

#include <stdatomic.h>
#include <stddef.h>

static atomic_int managed;
static void (*_Atomic link_start)(void);
static void (*_Atomic link_notify)(void);

int mailbox_managed(void)
{
	return atomic_load(&managed);
}

void mailbox_set_managed(int m)
{
	atomic_store(&managed, m);
}

void mailbox_start(void)
{
	void (*f)(void) = atomic_load(&link_start);

	if (f)
		f();
}

void mailbox_notify(void)
{
	void (*f)(void) = atomic_load(&link_notify);

	if (f)
		f();
}

void mailbox_connect(void (*start)(void), void (*notify)(void))
{
	atomic_store(&link_start, start);
	atomic_store(&link_notify, notify);
}
