-- Every plugin keeps its collections in a namespace of its own, stored as
-- "<plugin>/<collection>". The built-in plugins' collections move into
-- theirs under their default names; any other collection stays in the
-- default namespace (see docs/PROTOCOL.md §6 and the service's "moves"
-- setting). Before namespaces no name could hold "/", so nothing is
-- overwritten.
UPDATE rosey_documents SET collection = CASE collection
    WHEN 'quotes' THEN 'quote-db/quotes'
    WHEN 'trivia_scores' THEN 'trivia/trivia_scores'
    WHEN 'countdowns' THEN 'countdown/countdowns'
    WHEN 'seen' THEN 'seen/seen' END
WHERE collection IN ('quotes', 'trivia_scores', 'countdowns', 'seen');
--bun:split
UPDATE rosey_sequences SET collection = CASE collection
    WHEN 'quotes' THEN 'quote-db/quotes'
    WHEN 'trivia_scores' THEN 'trivia/trivia_scores'
    WHEN 'countdowns' THEN 'countdown/countdowns'
    WHEN 'seen' THEN 'seen/seen' END
WHERE collection IN ('quotes', 'trivia_scores', 'countdowns', 'seen');
--bun:split
UPDATE rosey_schemas SET collection = CASE collection
    WHEN 'quotes' THEN 'quote-db/quotes'
    WHEN 'trivia_scores' THEN 'trivia/trivia_scores'
    WHEN 'countdowns' THEN 'countdown/countdowns'
    WHEN 'seen' THEN 'seen/seen' END
WHERE collection IN ('quotes', 'trivia_scores', 'countdowns', 'seen');
