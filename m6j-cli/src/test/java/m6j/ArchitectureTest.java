package m6j;

import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import com.tngtech.archunit.lang.ArchRule;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;
import static com.tngtech.archunit.library.dependencies.SlicesRuleDefinition.slices;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * The package order of docs/ARCHITECTURE.md, as a test: a package may use only packages of earlier levels;
 * packages of one level do not use each other; no package cycles.
 */
class ArchitectureTest {
    /** Levels in data-flow order; the packages of one level are independent of each other. */
    static final List<List<String>> LEVELS = List.of(
            List.of("runtime"), List.of("data"), List.of("optim"), List.of("vq", "model"), List.of("task", "checkpoint"),
            List.of("offload"), List.of("train"), List.of("parallel"), List.of("infer"), List.of("serve", "api"), List.of("cli"));

    static JavaClasses classes;

    @BeforeAll static void load() {
        classes = new ClassFileImporter().withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS).importPackages("m6j");
    }

    @Test void everyPackageHasALevel() {
        List<String> known = LEVELS.stream().flatMap(List::stream).toList();
        List<String> unknown = classes.stream().map(c -> c.getPackageName().split("\\.")).filter(p -> p.length > 1)
                .map(p -> p[1]).distinct().filter(p -> !known.contains(p)).toList();
        assertThat(unknown).as("packages missing from ArchitectureTest.LEVELS and docs/ARCHITECTURE.md").isEmpty();
    }

    @Test void arrowsRunWithTheDataFlow() {
        for (int i = 0; i < LEVELS.size(); i++) {
            for (String pkg : LEVELS.get(i)) {
                List<String> forbidden = new ArrayList<>();
                for (int j = i; j < LEVELS.size(); j++)
                    for (String other : LEVELS.get(j)) if (!other.equals(pkg)) forbidden.add("m6j." + other + "..");
                if (forbidden.isEmpty()) continue;
                ArchRule rule = noClasses().that().resideInAPackage("m6j." + pkg + "..")
                        .should().dependOnClassesThat().resideInAnyPackage(forbidden.toArray(String[]::new))
                        .because("m6j." + pkg + " comes before these packages in the data flow (docs/ARCHITECTURE.md)");
                rule.check(classes);
            }
        }
    }

    /** Inference and serving read checkpoints; they never reach into the trainer. */
    @Test void inferenceAndServingDoNotUseTheTrainer() {
        noClasses().that().resideInAnyPackage("m6j.infer..", "m6j.serve..", "m6j.api..")
                .should().dependOnClassesThat().resideInAPackage("m6j.train..").check(classes);
    }

    @Test void noPackageCycles() {
        slices().matching("m6j.(*)..").should().beFreeOfCycles().check(classes);
    }
}
