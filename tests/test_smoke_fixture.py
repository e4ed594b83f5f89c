from review_flow.articles import service as articles


def test_create(db, people):
    with db.transaction() as s:
        a = articles.create_article(s, people["author"], title="T", body="B [1]",
                                    references=[{"title": "x", "pmid": "1"}])
    assert a.id
