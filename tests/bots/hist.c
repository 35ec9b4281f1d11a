/* hist: see hist.h. */
#include "hist.h"

#include <math.h>
#include <string.h>

void hist_reset(hist *h)
{
    memset(h, 0, sizeof *h);
}

void hist_add(hist *h, double ms)
{
    if (!(ms >= 0))
        ms = 0; /* a clock never runs backwards, but NaN must not index */
    h->n++;
    h->sum += ms;
    h->sumsq += ms * ms;
    if (ms > h->max)
        h->max = ms;
    double i = ms / HIST_BUCKET_MS;
    if (i >= HIST_BUCKETS)
        h->over++;
    else
        h->b[(int)i]++;
}

double hist_quantile(const hist *h, double q)
{
    if (!h->n)
        return 0;
    uint64_t rank = (uint64_t)ceil(q * (double)h->n);
    if (rank < 1)
        rank = 1;
    uint64_t cum = 0;
    for (int i = 0; i < HIST_BUCKETS; i++) {
        cum += h->b[i];
        if (cum >= rank) {
            double edge = (i + 1) * HIST_BUCKET_MS;
            return edge < h->max ? edge : h->max;
        }
    }
    return h->max;
}

double hist_mean(const hist *h)
{
    return h->n ? h->sum / (double)h->n : 0;
}

double hist_stddev(const hist *h)
{
    if (h->n < 2)
        return 0;
    double m = h->sum / (double)h->n;
    double var = h->sumsq / (double)h->n - m * m;
    return var > 0 ? sqrt(var) : 0;
}
