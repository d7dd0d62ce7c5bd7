"""Amazon review dumps (2014, 2018, 2023 releases and sequence files) -> RecBole atomic files."""
