"""The head and the middle of the stream: tracking hooks (HTTP ingress) and the Faust agents."""
