"""Word lists for name detection in `safety.pii`: common given names from many cultures, and words
that are never part of a name.

The list is deliberately incomplete: it only has to catch the frequent cases. Names that are also
place names or month abbreviations (Austin, Paris, Sydney, Jan) are left out on purpose.
"""

GIVEN_NAMES = frozenset(
    """
    Aaron Adam Albert Alexander Alfie Andrew Anthony Archie Arthur Benjamin Brandon Brian Carl Charles
    Charlie Christian Christopher Daniel David Dennis Donald Edward Eric Ethan Freddie George Gregory
    Harold Harry Henry Isaac Jacob James Jason Jeffrey Jeremy Jerry John Jonathan Joseph Joshua Justin
    Keith Kenneth Kevin Kyle Larry Lawrence Leo Liam Logan Lucas Mason Matthew Michael Nathan Nicholas
    Noah Oliver Oscar Owen Patrick Paul Peter Richard Robert Roger Ronald Ryan Samuel Scott Sean Stephen
    Steven Terry Theo Thomas Timothy Tyler Walter William Zachary
    Adrian Alex Ben Chris Dan Hugo Jim Joe Kate Katie Liz Marc Matt Mike Nick Sam Seth Steve Tim Tom Tony
    Abigail Alice Amanda Amelia Amy Andrea Angela Ann Anna Ashley Barbara Betty Brenda Carolyn Catherine
    Charlotte Cheryl Chloe Christina Christine Claire Cynthia Deborah Debra Diane Donna Dorothy Elizabeth
    Ella Emily Emma Evelyn Fiona Frances Gloria Hannah Harper Heather Helen Isabella Jacqueline Jane Janet
    Janice Jennifer Jessica Joan Joyce Judith Judy Julie Karen Katherine Kathleen Kathryn Kelly Kimberly
    Laura Lauren Linda Lisa Lucy Madison Margaret Maria Martha Mary Megan Melissa Mia Michelle Nancy
    Nicole Olivia Pamela Patricia Rachel Rebecca Ruth Samantha Sandra Sara Sarah Sharon Shirley Sophia
    Sophie Stephanie Susan Teresa
    Aoife Ciaran Cormac Declan Eoin Niamh Padraig Saoirse Siobhan
    Adriana Alejandra Alejandro Andres Antonio Beatriz Camila Carlos Carmen Daniela Diego Elena Emiliano
    Fernanda Fernando Francisco Gabriela Guadalupe Ines Isabel Javier Joaquim Jorge Jose José Juan
    Juliana Lucia Lucía Luis Manuel Mariana Marta Mateo Miguel Pablo Paula Pedro Pilar Rafael Raul Raúl
    Renata Ricardo Rodrigo Sergio Sofia Sofía Valentina Valeria Ximena João
    Amélie Antoine Aurélie Camille Chloé Céline Élodie Étienne François Guillaume Isabelle Jacques Julien
    Léa Manon Margaux Marie Mathieu Michel Nathalie Nicolas Philippe Pierre Sébastien Sylvie
    Anders Andreas Anke Astrid Birgit Bjørn Claudia Daan Dieter Erik Femke Florian Freya Friedrich Greta
    Hans Heike Henrik Ingrid Johannes Jonas Jürgen Katrin Klaus Lars Lukas Magnus Matthias Maximilian
    Monika Nils Petra Pieter Sabine Sanne Sebastian Sigrid Stefan Sven Tobias Ursula Wolfgang
    Alessandro Alessia Chiara Elisa Federica Francesca Giorgia Giovanni Giulia Giuseppe Lorenzo Luca
    Marco Martina Matteo Roberto Stefano
    Agnieszka Alexei Anastasia Andrei Dmitri Dmitry Dragan Ekaterina Igor Irina Ivan Jakub Jiří
    Katarzyna Krzysztof Ludmila Małgorzata Marek Mikhail Natalia Nikola Nikolai Oleg Olga Pavel Petr
    Piotr Sergei Sergey Svetlana Tatiana Tomasz Tomáš Vladimir Wojciech Yelena Yuri Zuzana
    Ahmet Ayşe Burak Dimitrios Eleni Elif Emine Emre Fatma Georgios Katerina Konstantinos Mehmet Mustafa
    Nikos Zeynep
    Abdullah Ahmad Ahmed Aisha Amina Arash Dariush Fatima Hamid Hassan Hussein Ibrahim Karim Khalid
    Layla Leila Mahmoud Maryam Mehdi Mohamed Mohammed Muhammad Noor Nour Omar Parisa Reza Salma Shirin
    Tariq Yasmin Youssef Yusuf
    Avraham Avi Moshe Noa Shira Tamar Yael Yitzhak Yosef
    Aarav Aditya Amit Ananya Anil Anjali Arjun Arun Asif Ayesha Bilal Deepak Deepika Divya Fahad Farhan
    Imran Ishaan Kavita Krishna Lakshmi Manoj Nadia Neha Nikhil Pooja Priya Rahul Rajesh Ramesh Ravi
    Rohan Sana Sanjay Sunil Sunita Suresh Vijay Vikram Vivaan
    Aiko Akira Haruka Haruto Hiroshi Jisoo Jiwoo Kaito Kenji Minho Minjun Naoki Sakura Satoshi Seojun
    Soyeon Takashi Xiaoming Yuki Yuto Linh Huong Thanh Somchai Malee
    Abebe Abena Adebayo Akosua Amani Amara Ayodele Chiamaka Chinedu Chukwuemeka Desta Emeka Folake Juma
    Kamau Kofi Kwabena Kwame Lerato Ngozi Nomvula Oluwaseun Olumide Otieno Sipho Thabo Themba Tendai
    Tigist Tunde Wanjiku Wanjiru Yetunde Zanele Zawadi
    Angel April Amber Art Bill Bob Carol Chase Daisy Dawn Dean Drew Faith Frank Grace Grant Guy Hazel
    Holly Hope Hunter Iris Ivy Jack June Joy Lily Mark Max May Miles Penny Ray Rose Ruby Summer Violet
    Will
    """.split()  # noqa: SIM905 - a list of quoted strings is harder to read and edit
)

# Given names that are also everyday English words: never trusted at the start of a sentence
# ("Will Microsoft ship?", "May Contain Nuts"), only in the middle of one ("I met Will Smith").
AMBIGUOUS_GIVEN_NAMES = frozenset(
    """
    Angel April Amber Art Bill Bob Carol Chase Daisy Dawn Dean Drew Faith Frank Grace Grant Guy Hazel
    Holly Hope Hunter Iris Ivy Jack June Joy Lily Mark Max May Miles Penny Ray Rose Ruby Summer Violet
    Will
    """.split()  # noqa: SIM905 - a list of quoted strings is harder to read and edit
)

# Capitalised words that start sentences, headings and self-descriptions ("I'm Sorry", "Regards, The
# Team", "Grace Period") and so never count as a name.
COMMON_WORDS = """
a about after all also am an and any are as at away back be been but by can could did do does done each
early for from going good great had has have he her here his how i if in into is it its just late let
me more most my new next no not now of off ok okay on one only or our out over please sent she so some
still such sure than that the their them then there these they this those to too up very was we well
were what when where which who why with would yes you your
able afraid available aware busy calling confused delighted excited fine free glad happy hoping home
interested looking pleased ready reaching responsible sorry thinking tired trying unable unavailable
working writing
american australian british canadian chinese dutch english european french german indian irish italian
japanese spanish
monday tuesday wednesday thursday friday saturday sunday today tomorrow yesterday
airport avenue bank center centre city college company corp corporation county department foundation
group hospital inc institute line llc ltd museum office road school square station street support team
university valley
said says wrote asked told agreed
""".split()  # noqa: SIM905 - a list of quoted strings is harder to read and edit
