"""Operator guide: docs/operator-guide.md, with its screenshots, inside the app."""

import streamlit as st

from intel.docs import guide_blocks
from ui.session import require_identity

require_identity()

# Our own, reviewed text (never customer data), so it may be rendered as Markdown.
for block in guide_blocks():
    if block.kind == "image":
        st.image(str(block.image), caption=block.text)
    else:
        st.markdown(block.text)
