/*
 * status_page.h - the first line of a paged CTL_STATUS reply (see
 * CTL_STATUS in proto.h), read by nvsharectl. A file of its own so that
 * the control-protocol fuzz target checks it against the scheduler's
 * replies.
 */
#ifndef NVSHARE_STATUS_PAGE_H
#define NVSHARE_STATUS_PAGE_H

#include <stdint.h>

/* Splits a page's text: "page next=<id>\n" then the page. Sets *next (0:
 * the last page) and *body (the rest of text). Returns 0, or -1 if the
 * line is not there or not exactly that (a decimal id below 2^64, no sign,
 * no leading zero, no blank). */
int ctl_page_parse(const char *text, uint64_t *next, const char **body);

#endif /* NVSHARE_STATUS_PAGE_H */
