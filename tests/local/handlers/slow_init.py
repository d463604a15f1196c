"""A handler whose module takes longer to import than its function's timeout (a heavy Init)."""
import time

INIT_S = 1.5
time.sleep(INIT_S)


def handler(event, context):
    return {"remaining_ms_at_start": context.get_remaining_time_in_millis()}
