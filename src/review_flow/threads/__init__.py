"""Comment threads anchored to a passage of a revision: opened, answered, resolved and
reopened as records; an open blocking thread holds back approval."""
