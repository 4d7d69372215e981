//! Dissectors: name what is behind a flow from what an observer sees in the clear.
