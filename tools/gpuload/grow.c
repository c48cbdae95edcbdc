/*
 * grow.c - the schedule of gpuload's growing memory (see grow.h).
 */
#include "grow.h"

uint64_t gl_grow_steps(uint64_t mem, uint64_t grow_to, uint64_t step)
{
	if (grow_to <= mem || !step)
		return 0;
	return (grow_to - mem) / step + ((grow_to - mem) % step != 0);
}

uint64_t gl_grow_min_kernels(uint64_t steps, uint64_t regrow)
{
	return (steps + 1) * (regrow + 1);
}

void gl_grow_plan_init(struct gl_grow_plan *p, uint64_t kernels, uint64_t mem,
                       uint64_t grow_to, uint64_t step, uint64_t regrow)
{
	uint64_t shortest;

	*p = (struct gl_grow_plan){
	    .kernels = kernels, .mem = mem, .grow_to = grow_to, .step = step};
	p->steps = gl_grow_steps(mem, grow_to, step);
	if (!p->steps || kernels < gl_grow_min_kernels(p->steps, regrow))
		return; /* no growth (args.c refuses such runs) */
	p->cycles = regrow + 1;
	shortest = kernels / p->cycles;
	p->every = (shortest + 3 * p->steps - 1) / (3 * p->steps);
}

/* First kernel of cycle c. */
static uint64_t grow_cycle_start(const struct gl_grow_plan *p, uint64_t c)
{
	return c * p->kernels / p->cycles;
}

enum gl_grow_action gl_grow_action(const struct gl_grow_plan *p, uint64_t i,
                                   uint64_t *bytes)
{
	uint64_t c, start, k, left;

	if (!p->cycles || i >= p->kernels)
		return GL_GROW_NONE;
	c = i * p->cycles / p->kernels;
	while (c + 1 < p->cycles && grow_cycle_start(p, c + 1) <= i)
		c++;
	start = grow_cycle_start(p, c);
	if (i == start)
		return c > 0 ? GL_GROW_SHRINK : GL_GROW_NONE;
	if ((i - start) % p->every)
		return GL_GROW_NONE;
	k = (i - start) / p->every; /* step k, from 1 */
	if (k > p->steps)
		return GL_GROW_NONE;
	left = p->grow_to - p->mem - (k - 1) * p->step;
	*bytes = left < p->step ? left : p->step;
	return GL_GROW_STEP;
}
