mod parse_corpus;
