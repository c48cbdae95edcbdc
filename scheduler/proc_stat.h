/*
 * proc_stat.h - a process's start time from the text of /proc/<pid>/stat
 * (field 22, clock ticks after boot): with the pid it names one process
 * for good, where the pid alone may be reused. Pure, no I/O.
 */
#ifndef NVSHARE_PROC_STAT_H
#define NVSHARE_PROC_STAT_H

/* Returns 0 and the start time in *out, or -1 if the text is malformed.
 * The program name (field 2) may hold blanks and parentheses: fields are
 * counted after its last ')'. */
int proc_stat_start_time(const char *text, unsigned long long *out);

#endif /* NVSHARE_PROC_STAT_H */
