# deviceplugin/: the device plugin's C side, pure parts (placement, pending
# allocations, health verdicts, device IDs, Allocate's content, the status
# report reader, the kubelet directory's events).
foreach(t test_plugin_placement test_plugin_health test_plugin_parts)
  nvs_unit_test(${t} SOURCES ${t}.c LIBS nvs_dp_core)
endforeach()
