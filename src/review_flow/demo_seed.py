"""The demo's answer to the seed page's question, in both audience texts.

The kind of page this engine exists to stand behind (DESIGN.md): a pipeline-written
draft, a lead answer, "From the Guidelines" and "From the Research" sections with
numbered citations, reviewed by the board. Written for the demo in our own words; the
references are real guideline and research publications, each checked against a stored
public page (PubMed Central, PubMed, the publisher or the CDC): docs/SEED_SOURCES.md says
which, and what could not be confirmed.
"""

from __future__ import annotations

from typing import Any

TITLE = "What is the evidence for stem cell therapy in the treatment of chronic pain?"

GENERATOR = {"name": "evidence-writer", "model": "example-model", "version": "2026.11"}

REFERENCES: list[dict[str, Any]] = [
    {
        "title": "Dowell D, Haegerich TM, Chou R. CDC Guideline for Prescribing Opioids for "
        "Chronic Pain — United States, 2016. MMWR Recomm Rep 2016;65(1):1-49",
        "doi": "10.15585/mmwr.rr6501e1",
    },
    {
        "title": "CDC Clinical Practice Guideline for Prescribing Opioids for Pain — United "
        "States, 2022. MMWR Recomm Rep 2022;71(3)",
        "doi": "10.15585/mmwr.rr7103a1",
    },
    {
        "title": "Kolasinski SL, Neogi T, Hochberg MC, et al. 2019 American College of "
        "Rheumatology/Arthritis Foundation Guideline for the Management of Osteoarthritis of "
        "the Hand, Hip, and Knee. Arthritis Care Res (Hoboken) 2020;72(2):149-162",
        "doi": "10.1002/acr.24131",
        "pmid": "31908149",
    },
    {
        "title": "Freitag J, Bates D, Boyd R, et al. Mesenchymal stem cell therapy in the "
        "treatment of osteoarthritis: reparative pathways, safety and efficacy - a review. "
        "BMC Musculoskelet Disord 2016;17:230",
        "doi": "10.1186/s12891-016-1085-9",
        "pmid": "27229856",
    },
    {
        "title": "Intra-articular injection of two different doses of autologous bone marrow "
        "mesenchymal stem cells versus hyaluronic acid in the treatment of knee "
        "osteoarthritis: multicenter randomized controlled clinical trial (phase I/II)",
        "url": "https://www.ncbi.nlm.nih.gov/pmc/articles/PMC5002157/",
    },
    {
        "title": "Turner L, Knoepfler P. Selling Stem Cells in the USA: Assessing the "
        "Direct-to-Consumer Industry. Cell Stem Cell 2016;19(2):154-157",
        "doi": "10.1016/j.stem.2016.06.007",
        "pmid": "27374789",
    },
    {
        "title": "Bauer G, Elsallab M, Abou-El-Enein M. Concise Review: A Comprehensive "
        "Analysis of Reported Adverse Events in Patients Receiving Unproven Stem Cell-Based "
        "Interventions. Stem Cells Transl Med 2018;7(9):676-685",
        "doi": "10.1002/sctm.17-0282",
        "pmid": "30063299",
    },
    {
        "title": "Derry S, et al. Pregabalin for neuropathic pain in adults. Cochrane Database "
        "Syst Rev 2019;CD007076",
        "doi": "10.1002/14651858.CD007076.pub3",
    },
]


LEAD = (
    "Stem cell therapy is still experimental for chronic pain: the evidence is limited and "
    "mixed, results vary from person to person, and treatment is usually costly and not "
    "covered by insurance"
)

PATIENT_BODY = f"""# From the Guidelines

{LEAD} [3, 6]. No major pain guideline recommends it [1, 3]. Most studies use \
mesenchymal stem cells (MSCs), collected from bone marrow, fat tissue or umbilical cord \
tissue and injected into the painful joint or spinal disc [4].

## Key Points to Consider

- A course of treatment is usually one to three injections, sometimes repeated months later [4, 5]
- The idea is that the cells calm inflammation and help damaged tissue heal, which might \
ease pain; this has not been proven in people [4]
- In clinical trials, side effects were mostly mild, such as short-lived pain or swelling \
where the injection was given [4, 5]
- Clinics that sell stem cell treatments directly to the public often offer treatments \
that have not been properly tested [6], and serious harms have been reported after them [7]

## Alternative Treatment Options

- Exercise, physical therapy, weight loss when it is needed, and psychological therapies \
help many people with long-lasting pain, and work well alongside pain medicines [1, 2]
- Programmes that combine several of these approaches can reduce pain and disability over \
the long term [1, 2]
- For knee or hip osteoarthritis, the guideline-recommended options include exercise and \
weight loss; the same guideline advises against stem cell injections [3]

## Recommendations

- Ask your doctor about the treatments with the strongest evidence first: medicines such \
as acetaminophen (paracetamol) or anti-inflammatory drugs, and for nerve pain certain \
antidepressants or anticonvulsants, are usually tried before opioids [1, 2, 8]
- If you are offered a stem cell treatment, ask whether it is part of a registered \
clinical trial, what it will cost, and what evidence supports it [6]

# From the Research

## What Studies Have Found

- Small trials in knee osteoarthritis found injections of a person's own bone marrow \
stem cells to be safe, and some people reported less pain, but the studies were small \
and short [5]
- Reviews of the research say early results look promising, but larger and better \
designed trials are needed before the treatment can be recommended [4]

## Safety

- Outside of clinical trials, serious complications have been reported after unproven \
stem cell treatments [7]

## Future Directions

- Researchers are still working out which cells, doses and conditions might benefit, and \
how to measure the results reliably [4]
"""

PROFESSIONAL_BODY = """# From the Guidelines

Stem cell-based interventions for chronic pain remain investigational: no major pain \
guideline recommends them, the 2019 ACR/Arthritis Foundation guideline recommends against \
stem cell injections in knee and hip osteoarthritis [3], and current guidelines give \
priority to nonpharmacologic and nonopioid therapy [1, 2]. Most clinical studies use \
autologous or allogeneic mesenchymal stromal cells (MSCs) from bone marrow, adipose \
tissue or umbilical cord, delivered intra-articularly or intradiscally; cell source, \
preparation and dose vary widely between studies [4, 5].

## Key Points to Consider

- Protocols typically use one to three injections; the optimal cell source, dose and \
interval are undefined [4]
- Proposed mechanisms are paracrine and immunomodulatory (reduced inflammatory signalling, \
support of tissue repair) rather than engraftment; effects on nociceptive pathways remain \
hypothetical in humans [4]
- Adverse events in trials are generally mild and transient, chiefly injection-site pain \
and effusion [4, 5]
- Direct-to-consumer clinics market unapproved interventions for many painful \
conditions [6]; serious adverse events after such interventions are documented [7]

## Alternative Treatment Options

- Nonpharmacologic therapies (exercise therapy, weight loss, psychological therapies such \
as CBT) are preferred and act synergistically with pharmacologic therapy [1, 2]
- Multimodal, multidisciplinary rehabilitation can reduce long-term pain and \
disability [1, 2]
- In knee and hip osteoarthritis, use the guideline's core treatments before any \
injection therapy [3]

## Recommendations

- Consider opioid therapy only when the expected benefits for pain and function outweigh \
the risks, and after nonopioid options have been optimised [1, 2]
- In neuropathic pain, pregabalin has evidence of benefit in postherpetic neuralgia and \
painful diabetic neuropathy [8]
- Refer patients who ask about cell-based therapy to registered clinical trials [6]

# From the Research

## Clinical Trials

- A phase I/II randomised trial of intra-articular autologous bone marrow MSCs against \
hyaluronic acid in knee osteoarthritis reported no serious adverse events and \
improvement in pain and function, most marked at the higher dose; the trial was small [5]
- Reviews describe promising but low-certainty evidence, with heterogeneous protocols \
and outcome measures [4]

## Safety

- Case reports and registries describe serious complications after unproven stem cell \
interventions outside trials [7]

## Future Directions

- Adequately powered, blinded randomised trials with standardised cell products and \
validated pain outcomes are needed [4]
"""
