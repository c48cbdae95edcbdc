# The policy against clients that misbehave: the memory counted on a GPU
# stays within its capacity whatever they send.
nvs_unit_test(test_policy_hostile SOURCES test_policy_hostile.c LIBS nvs_policy)
