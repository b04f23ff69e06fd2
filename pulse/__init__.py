"""pulse: account-based-marketing engagement pipeline (Kafka -> Faust -> ClickHouse -> Streamlit)."""
__version__ = "0.1.0"
