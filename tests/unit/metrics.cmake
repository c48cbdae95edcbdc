# Scheduler metrics: the Prometheus page rendered from fixed state, its
# counters and histograms, label escaping, series gone with their client.
nvs_unit_test(test_metrics SOURCES test_metrics.c LIBS nvs_metrics)
# The web page's history ring: wrap, clients leaving, bounded memory.
nvs_unit_test(test_history SOURCES test_history.c LIBS nvs_metrics)
