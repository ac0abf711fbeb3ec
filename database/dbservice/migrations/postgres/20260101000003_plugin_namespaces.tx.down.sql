UPDATE rosey_documents SET collection = CASE collection
    WHEN 'quote-db/quotes' THEN 'quotes'
    WHEN 'trivia/trivia_scores' THEN 'trivia_scores'
    WHEN 'countdown/countdowns' THEN 'countdowns'
    WHEN 'seen/seen' THEN 'seen' END
WHERE collection IN ('quote-db/quotes', 'trivia/trivia_scores', 'countdown/countdowns', 'seen/seen');
--bun:split
UPDATE rosey_sequences SET collection = CASE collection
    WHEN 'quote-db/quotes' THEN 'quotes'
    WHEN 'trivia/trivia_scores' THEN 'trivia_scores'
    WHEN 'countdown/countdowns' THEN 'countdowns'
    WHEN 'seen/seen' THEN 'seen' END
WHERE collection IN ('quote-db/quotes', 'trivia/trivia_scores', 'countdown/countdowns', 'seen/seen');
--bun:split
UPDATE rosey_schemas SET collection = CASE collection
    WHEN 'quote-db/quotes' THEN 'quotes'
    WHEN 'trivia/trivia_scores' THEN 'trivia_scores'
    WHEN 'countdown/countdowns' THEN 'countdowns'
    WHEN 'seen/seen' THEN 'seen' END
WHERE collection IN ('quote-db/quotes', 'trivia/trivia_scores', 'countdown/countdowns', 'seen/seen');
