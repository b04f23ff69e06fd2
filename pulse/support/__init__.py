"""What the supervisor, the tests and `pulse bench` share to run pulse's parts: free ports, waits on a
condition, child processes with their logs, and the embedded broker."""
